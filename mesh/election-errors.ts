/** Typed errors of leader election. Codes are API: never renamed. */
import { MeshError } from './errors.js'

/**
 * An action fenced by `term` may not run: this node does not lead in that term, or its lease
 * has run out. `currentTerm` is the term this node knows now.
 */
export class LeaseTermStaleError extends MeshError {
  readonly term: number
  readonly currentTerm: number
  constructor(term: number, currentTerm: number, detail: string) {
    super('LEASE_TERM_STALE', `term ${term} is no longer a held lease (current term ${currentTerm}): ${detail}`)
    this.term = term
    this.currentTerm = currentTerm
  }
}

/** An election frame could not be decoded (bad version, type, length or field). */
export class ElectionFrameMalformedError extends MeshError {
  readonly reason: string
  constructor(reason: string) {
    super('ELECTION_FRAME_MALFORMED', `malformed election frame: ${reason}`)
    this.reason = reason
  }
}
