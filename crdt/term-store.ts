/**
 * The election's term and vote in state.db (node_meta), committed before `save` returns:
 * a node that restarts never votes twice in one term.
 *
 * A stored term out of range (2^53 - 1 written by the code before terms were bounded, text
 * that is no term) is repaired when the store is created, before the election reads it: the
 * repaired term is committed at once, so the next start finds a clean value, and `repairs()`
 * lists what was found for the node's status. See mesh/term-store.ts for the repair value.
 */
import { checkStoredTerm, type StateRepair, type TermStore } from '../mesh/index.js'
import type { StateDb } from './state-db.js'

const TERM_KEY = 'election.term'
const VOTE_KEY = 'election.votedFor'

export function createSqliteTermStore(state: StateDb): TermStore & { repairs(): StateRepair[] } {
  const save = state.db.transaction((term: number, votedFor: string | null) => {
    state.setMeta(TERM_KEY, String(term))
    state.setMeta(VOTE_KEY, votedFor ?? '')
  })
  const read = (): { state: { term: number; votedFor: string | null }; repair: StateRepair | null } => {
    const votedFor = state.getMeta(VOTE_KEY) ?? ''
    return checkStoredTerm({ term: state.getMeta(TERM_KEY), votedFor: votedFor === '' ? null : votedFor })
  }
  const repairs: StateRepair[] = []
  const repairIfNeeded = (): { term: number; votedFor: string | null } => {
    const checked = read()
    if (checked.repair !== null) {
      save(checked.state.term, checked.state.votedFor)
      repairs.push(checked.repair)
    }
    return checked.state
  }
  repairIfNeeded()
  return {
    load: repairIfNeeded,
    save({ term, votedFor }) {
      save(term, votedFor)
    },
    repairs: () => [...repairs],
  }
}
