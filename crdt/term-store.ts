/**
 * The election's term, vote and voter configuration in state.db (node_meta), committed in one
 * transaction before `save` returns: a node that restarts never votes twice in one term, nor
 * forgets a configuration it acknowledged. The configuration is JSON; the election checks it
 * as it loads it (ELECTION_CONFIG_REPAIRED when it cannot be used).
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
const CONFIG_KEY = 'election.config'

export function createSqliteTermStore(state: StateDb): TermStore & { repairs(): StateRepair[] } {
  const save = state.db.transaction((term: number, votedFor: string | null, config?: string) => {
    state.setMeta(TERM_KEY, String(term))
    state.setMeta(VOTE_KEY, votedFor ?? '')
    if (config !== undefined) state.setMeta(CONFIG_KEY, config)
  })
  const readConfig = (): unknown => {
    const text = state.getMeta(CONFIG_KEY)
    // Never written (a store from before configurations): undefined; written as none: null.
    if (text === undefined) return undefined
    if (text === '') return null
    try {
      return JSON.parse(text) as unknown
    } catch {
      return text
    }
  }
  const read = (): { state: { term: number; votedFor: string | null }; repair: StateRepair | null } => {
    const votedFor = state.getMeta(VOTE_KEY) ?? ''
    return checkStoredTerm({ term: state.getMeta(TERM_KEY), votedFor: votedFor === '' ? null : votedFor })
  }
  const repairs: StateRepair[] = []
  const repairIfNeeded = (): { term: number; votedFor: string | null; config?: unknown } => {
    const checked = read()
    if (checked.repair !== null) {
      save(checked.state.term, checked.state.votedFor)
      repairs.push(checked.repair)
    }
    const config = readConfig()
    return config === undefined ? checked.state : { ...checked.state, config }
  }
  repairIfNeeded()
  return {
    load: repairIfNeeded,
    save({ term, votedFor, config }) {
      save(term, votedFor, config === undefined ? undefined : config === null ? '' : JSON.stringify(config))
    },
    repairs: () => [...repairs],
  }
}
