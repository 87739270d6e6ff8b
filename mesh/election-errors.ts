/** Typed errors of leader election. Codes are API: never renamed. */
import { MeshError } from './errors.js'

/** Every code leader election logs, throws or reports. */
export type ElectionErrorCode =
  | 'LEASE_TERM_STALE'
  | 'ELECTION_FRAME_MALFORMED'
  | 'ELECTION_WITNESS_CANNOT_LEAD'
  | 'ELECTION_WITNESS_TERM_REFUSED'
  | 'ELECTION_TERM_EXHAUSTED'
  | 'ELECTION_TERM_REPAIRED'
  | 'ELECTION_DELIVERY_FAILED'
  | 'ELECTION_CONFIG_REPAIRED'

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

/** An election frame could not be decoded (bad version, type, length or field, or a term over MAX_TERM). */
export class ElectionFrameMalformedError extends MeshError {
  readonly reason: string
  constructor(reason: string) {
    super('ELECTION_FRAME_MALFORMED', `malformed election frame: ${reason}`)
    this.reason = reason
  }
}

/**
 * A voter that cannot lead (the witness) sent what only a leader or a candidate sends (a
 * heartbeat, a vote request, a pre-vote or a TIMEOUT_NOW). Refused: its term is not adopted.
 */
export class ElectionWitnessCannotLeadError extends MeshError {
  readonly peerId: string
  readonly messageType: string
  constructor(peerId: string, messageType: string) {
    super('ELECTION_WITNESS_CANNOT_LEAD', `${peerId} votes but cannot lead, yet sent a ${messageType}: refused, its term not adopted`)
    this.peerId = peerId
    this.messageType = messageType
  }
}

/**
 * A voter that cannot lead (the witness) answered with a term above ours while this node leads
 * or hears a live leader. Refused: a witness's term never unseats a leader, neither this one nor,
 * through a follower that took it and then refused the leader's heartbeats, any other.
 */
export class ElectionWitnessTermRefusedError extends MeshError {
  readonly peerId: string
  readonly term: number
  constructor(peerId: string, term: number) {
    super('ELECTION_WITNESS_TERM_REFUSED', `${peerId} votes but cannot lead, yet answered in term ${term}, above ours, while a leader holds the lease: refused`)
    this.peerId = peerId
    this.term = term
  }
}

/**
 * This node's term has reached MAX_TERM, so it cannot stand for election (term + 1 would be
 * over the bound). Only a peer's hostile frame can bring a term there; the node stays up and
 * follows, but does not stand.
 */
export class ElectionTermExhaustedError extends MeshError {
  readonly term: number
  constructor(term: number) {
    super('ELECTION_TERM_EXHAUSTED', `term ${term} is at the largest term the protocol carries: this node will not stand for election`)
    this.term = term
  }
}

/** An election message could not be handled (a local failure, e.g. the term store); the node carries on. */
export class ElectionDeliveryFailedError extends MeshError {
  readonly peerId: string
  constructor(peerId: string, options?: { cause?: unknown }) {
    super('ELECTION_DELIVERY_FAILED', `an election message from ${peerId} could not be handled`, options)
    this.peerId = peerId
  }
}

/**
 * The voter configuration stored beside the term could not be used (corrupt, or out of the
 * protocol's bounds). It is dropped: the node counts its roster's voters, as one that never
 * heard a leader, until a leader sends it the configuration again (see voters.ts, C4).
 */
export class ElectionConfigRepairedError extends MeshError {
  readonly problem: string
  constructor(problem: string) {
    super('ELECTION_CONFIG_REPAIRED', `the stored voter configuration was unusable (${problem}): dropped until a leader sends it again`)
    this.problem = problem
  }
}
