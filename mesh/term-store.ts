/**
 * The election's stored term and vote: the check every TermStore runs on what it loads, the
 * repair of an out-of-range term, and a TermStore in memory (for a process whose term need not
 * outlive it: tests, benches). The SQLite one is crdt/term-store.ts.
 *
 * Repair. A stored term that is not an integer in [0, MAX_TERM] (2^53 - 1 written by the code
 * before terms were bounded, anything over 2^48 - 1, a negative or fractional number, text
 * that is not a number) cannot be used: the node would refuse to send it, or crash doing term
 * arithmetic. It is replaced by REPAIRED_TERM = 2^47, with no vote, and the repair reported.
 *
 * Why 2^47. Terms are fencing tokens and Raft's I1 needs a node never to vote twice in a term,
 * so a repaired term must not go back below any term the mesh used legitimately. Honest
 * elections raise the term by one each: one election a second for 4.4 million years stays
 * below 2^47, so every legitimately used term is far below it, whatever the lost value was
 * (a garbled 57 included). An out-of-range value above MAX_TERM can only have come from a
 * peer's hostile frame, and the decoder now refuses every such term, so no term in that range
 * can be voted in or led in again. The one term range a repair re-opens is (2^47, MAX_TERM],
 * reachable before only through hostile frames. 2^47 also leaves 2^47 - 1 terms of room
 * before the bound. Every repaired member lands on the same term with no vote, so they
 * converge: the first to stand asks for 2^47 + 1, which every repaired member and every member
 * with a smaller term grants.
 */
import type { TermStore } from './election.js'
import { MAX_TERM, isElectionTerm } from './election-protocol.js'

/** The term a stored term out of range is repaired to (see the header). */
export const REPAIRED_TERM = 2 ** 47

/** A repair of stored state this node made as it started; shown in `GET /node` as `repairs`. */
export interface StateRepair {
  code: 'ELECTION_TERM_REPAIRED'
  /** What was repaired. */
  what: 'election.term'
  /** The value found, as text (cut to 64 characters). */
  found: string
  /** The value it was replaced with. */
  repairedTo: number
}

export interface TermState {
  term: number
  votedFor: string | null
}

/**
 * Checks a term as stored (a number, or text as SQLite holds it; undefined for a node that
 * never stored one, which starts at 0). Returns the usable state, and the repair when the term
 * was out of range (then votedFor is cleared).
 */
export function checkStoredTerm(stored: { term: unknown; votedFor: string | null }): { state: TermState; repair: StateRepair | null } {
  const term = parseStoredTerm(stored.term)
  if (term !== null) return { state: { term, votedFor: stored.votedFor }, repair: null }
  const found = typeof stored.term === 'string' ? stored.term : String(stored.term)
  return {
    state: { term: REPAIRED_TERM, votedFor: null },
    repair: { code: 'ELECTION_TERM_REPAIRED', what: 'election.term', found: found.slice(0, 64), repairedTo: REPAIRED_TERM },
  }
}

function parseStoredTerm(term: unknown): number | null {
  if (term === undefined) return 0
  if (typeof term === 'number') return isElectionTerm(term) ? term : null
  // Strict digits: parseInt would read "12abc" as 12 and "1.5" as 1.
  if (typeof term !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(term)) return null
  const value = Number(term)
  return value <= MAX_TERM ? value : null
}

/** A TermStore in memory; an out-of-range initial term is repaired and listed by `repairs()`. */
export function createMemoryTermStore(initial: TermState = { term: 0, votedFor: null }): TermStore & { repairs(): StateRepair[] } {
  const checked = checkStoredTerm(initial)
  let state = { ...checked.state }
  const repairs = checked.repair === null ? [] : [checked.repair]
  return {
    load: () => ({ ...state }),
    save: (next) => {
      state = { ...next }
    },
    repairs: () => [...repairs],
  }
}
