/**
 * The election's term and vote in state.db (node_meta), committed before `save` returns:
 * a node that restarts never votes twice in one term.
 */
import type { TermStore } from '../mesh/index.js'
import type { StateDb } from './state-db.js'

export function createSqliteTermStore(state: StateDb): TermStore {
  const save = state.db.transaction((term: number, votedFor: string | null) => {
    state.setMeta('election.term', String(term))
    state.setMeta('election.votedFor', votedFor ?? '')
  })
  return {
    load() {
      const term = Number.parseInt(state.getMeta('election.term') ?? '0', 10)
      const votedFor = state.getMeta('election.votedFor') ?? ''
      return { term: Number.isSafeInteger(term) && term >= 0 ? term : 0, votedFor: votedFor === '' ? null : votedFor }
    },
    save({ term, votedFor }) {
      save(term, votedFor)
    },
  }
}
