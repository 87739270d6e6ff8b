/**
 * The election protocol, `/instar/election/1.0.0`: how members elect the one leader that holds
 * the channel lease. Pure encode/decode; a stream binding sends each message as one frame
 * (and may refuse any frame longer than MAX_ELECTION_FRAME). The sender of a message is the
 * authenticated remote peer of the connection, so no message names its own sender.
 *
 *   frame = version (1 byte, = 1) || type (1 byte) || fixed big-endian fields
 *   term     8 bytes, an unsigned integer at most MAX_TERM = 2^48 - 1; anything above is refused.
 *            The bound sits far below 2^53 so that term + 1, and any arithmetic a later step does
 *            with a term, stays exact in a JS number: no term a peer sends can make a later
 *            local step throw. Honest elections never come near it (one a second for 8.9
 *            million years), so a term above it can only be hostile or corrupt.
 *   round    4 bytes, u32
 *   priority 2 bytes, u16
 *   boolean  1 byte, 0 or 1 (anything else is refused)
 *
 *   type 1 REQUEST_VOTE     term, priority, transfer       13 bytes
 *   type 2 VOTE             term, granted                  11 bytes
 *   type 3 HEARTBEAT        term, round                    14 bytes
 *   type 4 HEARTBEAT_REPLY  term, round, ok, priority      17 bytes
 *   type 5 TIMEOUT_NOW      term                           10 bytes
 *   type 6 PRE_VOTE         term, priority                 12 bytes
 *   type 7 PRE_VOTE_REPLY   term, granted                  11 bytes
 *
 * The exchange (Raft's election without a log, see election.ts):
 *
 *   would-be candidate → every voter  PRE_VOTE { term, priority }
 *     term is the term it would stand in (its own + 1); nobody changes state on it.
 *   voter → would-be candidate        PRE_VOTE_REPLY { term, granted }
 *     granted (term echoes the request's) when the voter would vote now: it has not heard a
 *     leader within the minimum timeout and the term is above its own; refused with the
 *     voter's own term otherwise. Only with a majority of grants does the node stand.
 *   candidate → every voter  REQUEST_VOTE { term, priority, transfer }
 *     term is the candidate's new term; transfer is set only on the election a TIMEOUT_NOW
 *     from the leader started, and lets it through the voters' leader stickiness.
 *   voter → candidate        VOTE { term, granted }   term is the voter's term after the request
 *   leader → every voter     HEARTBEAT { term, round }  every heartbeat interval; round counts up
 *   voter → leader           HEARTBEAT_REPLY { term, round, ok, priority }
 *     echoes the round so the leader can date its lease from when that round was sent; ok is
 *     true when the voter follows this leader in this term; priority is the voter's own.
 *   leader → chosen voter    TIMEOUT_NOW { term }  the leader has stepped down; start an
 *     election at once (handback to a higher priority, or graceful hand-off).
 */
import { ElectionFrameMalformedError } from './election-errors.js'

export const ELECTION_PROTOCOL = '/instar/election/1.0.0'
/** The longest election frame, in bytes (a HEARTBEAT_REPLY). */
export const MAX_ELECTION_FRAME = 17
/** The largest term either side sends or accepts: 2^48 - 1 (see the header). */
export const MAX_TERM = 2 ** 48 - 1

const VERSION = 1
export const TYPE_REQUEST_VOTE = 1
export const TYPE_VOTE = 2
export const TYPE_HEARTBEAT = 3
export const TYPE_HEARTBEAT_REPLY = 4
export const TYPE_TIMEOUT_NOW = 5
export const TYPE_PRE_VOTE = 6
export const TYPE_PRE_VOTE_REPLY = 7
const MAX_U32 = 0xffff_ffff
const MAX_U16 = 0xffff
/** The high 32 bits of a term may use 16 bits: 2^16 * 2^32 - 1 = MAX_TERM. */
const MAX_TERM_HIGH = 0xffff

export type ElectionMessage =
  | { type: 'request-vote'; term: number; priority: number; transfer: boolean }
  | { type: 'vote'; term: number; granted: boolean }
  | { type: 'heartbeat'; term: number; round: number }
  | { type: 'heartbeat-reply'; term: number; round: number; ok: boolean; priority: number }
  | { type: 'timeout-now'; term: number }
  | { type: 'pre-vote'; term: number; priority: number }
  | { type: 'pre-vote-reply'; term: number; granted: boolean }

const LENGTHS: Record<number, number> = {
  [TYPE_REQUEST_VOTE]: 13,
  [TYPE_VOTE]: 11,
  [TYPE_HEARTBEAT]: 14,
  [TYPE_HEARTBEAT_REPLY]: 17,
  [TYPE_TIMEOUT_NOW]: 10,
  [TYPE_PRE_VOTE]: 12,
  [TYPE_PRE_VOTE_REPLY]: 11,
}

/** Encodes a message; throws ELECTION_FRAME_MALFORMED if a field is out of its range. */
export function encodeElectionMessage(m: ElectionMessage): Uint8Array {
  const type = typeOf(m)
  const frame = new Uint8Array(LENGTHS[type] ?? 0)
  const view = new DataView(frame.buffer)
  frame[0] = VERSION
  frame[1] = type
  writeTerm(view, m.term)
  switch (m.type) {
    case 'request-vote':
      writeU16(view, 10, m.priority, 'priority')
      frame[12] = writeBool(m.transfer, 'transfer')
      break
    case 'vote':
      frame[10] = writeBool(m.granted, 'granted')
      break
    case 'heartbeat':
      writeU32(view, 10, m.round)
      break
    case 'heartbeat-reply':
      writeU32(view, 10, m.round)
      frame[14] = writeBool(m.ok, 'ok')
      writeU16(view, 15, m.priority, 'priority')
      break
    case 'timeout-now':
      break
    case 'pre-vote':
      writeU16(view, 10, m.priority, 'priority')
      break
    case 'pre-vote-reply':
      frame[10] = writeBool(m.granted, 'granted')
      break
  }
  return frame
}

/** Decodes one frame; throws only ElectionFrameMalformedError, whatever the input. */
export function decodeElectionMessage(frame: Uint8Array): ElectionMessage {
  if (!(frame instanceof Uint8Array)) throw new ElectionFrameMalformedError('not a byte array')
  if (frame.length < 2) throw new ElectionFrameMalformedError(`${frame.length} bytes is too short`)
  if (frame[0] !== VERSION) throw new ElectionFrameMalformedError(`version ${frame[0]} is not supported (this node speaks 1)`)
  const type = frame[1] ?? 0
  const length = LENGTHS[type]
  if (length === undefined) throw new ElectionFrameMalformedError(`unknown message type ${type}`)
  if (frame.length !== length) {
    throw new ElectionFrameMalformedError(`message type ${type} is ${length} bytes, not ${frame.length}`)
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const term = readTerm(view)
  switch (type) {
    case TYPE_REQUEST_VOTE:
      return { type: 'request-vote', term, priority: view.getUint16(10), transfer: readBool(frame, 12, 'transfer') }
    case TYPE_VOTE:
      return { type: 'vote', term, granted: readBool(frame, 10, 'granted') }
    case TYPE_HEARTBEAT:
      return { type: 'heartbeat', term, round: view.getUint32(10) }
    case TYPE_HEARTBEAT_REPLY:
      return {
        type: 'heartbeat-reply',
        term,
        round: view.getUint32(10),
        ok: readBool(frame, 14, 'ok'),
        priority: view.getUint16(15),
      }
    case TYPE_PRE_VOTE:
      return { type: 'pre-vote', term, priority: view.getUint16(10) }
    case TYPE_PRE_VOTE_REPLY:
      return { type: 'pre-vote-reply', term, granted: readBool(frame, 10, 'granted') }
    default:
      return { type: 'timeout-now', term }
  }
}

/** Whether `term` is a term the protocol carries: an integer in [0, MAX_TERM]. */
export function isElectionTerm(term: unknown): term is number {
  return typeof term === 'number' && Number.isInteger(term) && term >= 0 && term <= MAX_TERM
}

function typeOf(m: ElectionMessage): number {
  switch (m.type) {
    case 'request-vote':
      return TYPE_REQUEST_VOTE
    case 'vote':
      return TYPE_VOTE
    case 'heartbeat':
      return TYPE_HEARTBEAT
    case 'heartbeat-reply':
      return TYPE_HEARTBEAT_REPLY
    case 'timeout-now':
      return TYPE_TIMEOUT_NOW
    case 'pre-vote':
      return TYPE_PRE_VOTE
    case 'pre-vote-reply':
      return TYPE_PRE_VOTE_REPLY
    default:
      throw new ElectionFrameMalformedError(`cannot encode message type ${String((m as { type?: unknown }).type)}`)
  }
}

function writeTerm(view: DataView, term: number): void {
  if (!isElectionTerm(term)) throw new ElectionFrameMalformedError(`term ${term} is not an integer in [0, 2^48-1]`)
  view.setUint32(2, Math.floor(term / 2 ** 32))
  view.setUint32(6, term % 2 ** 32)
}

function readTerm(view: DataView): number {
  const high = view.getUint32(2)
  if (high > MAX_TERM_HIGH) throw new ElectionFrameMalformedError('term is over 2^48-1')
  return high * 2 ** 32 + view.getUint32(6)
}

function writeU32(view: DataView, offset: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) throw new ElectionFrameMalformedError(`round ${value} is not a u32`)
  view.setUint32(offset, value)
}

function writeU16(view: DataView, offset: number, value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U16) throw new ElectionFrameMalformedError(`${name} ${value} is not a u16`)
  view.setUint16(offset, value)
}

function writeBool(value: boolean, name: string): number {
  if (typeof value !== 'boolean') throw new ElectionFrameMalformedError(`${name} is not a boolean`)
  return value ? 1 : 0
}

function readBool(frame: Uint8Array, offset: number, name: string): boolean {
  const byte = frame[offset]
  if (byte === 0) return false
  if (byte === 1) return true
  throw new ElectionFrameMalformedError(`${name} byte is ${byte}, not 0 or 1`)
}
