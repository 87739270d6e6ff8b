/**
 * The election protocol, `/instar/election/2.0.0`: how members elect the one leader that holds
 * the channel lease, and how the leader changes who votes. Pure encode/decode; a stream binding
 * sends each message as one frame (and may refuse any frame longer than MAX_ELECTION_FRAME).
 * The sender of a message is the authenticated remote peer of the connection, so no message
 * names its own sender.
 *
 *   frame = version (1 byte, = 2) || type (1 byte) || big-endian fields
 *   term     8 bytes, an unsigned integer at most MAX_TERM = 2^48 - 1; anything above is refused.
 *            The bound sits far below 2^53 so that term + 1, and any arithmetic a later step does
 *            with a term, stays exact in a JS number: no term a peer sends can make a later
 *            local step throw. Honest elections never come near it (one a second for 8.9
 *            million years), so a term above it can only be hostile or corrupt.
 *   round    4 bytes, u32
 *   priority 2 bytes, u16
 *   boolean  1 byte, 0 or 1 (anything else is refused)
 *   config   12 bytes, the id of the sender's voter configuration: stamp (a term, 8 bytes, at
 *            most the message's term: the term of the leader it came from) || epoch (u32, counts
 *            the configuration's changes). Ids compare by stamp, then epoch (see voters.ts).
 *   voters   count (1 byte, 1..MAX_CONFIG_VOTERS) || per voter: canLead (boolean) || length
 *            (1 byte, 1..MAX_VOTER_ID) || peer id (ASCII letters and digits). No id twice, and
 *            at least one voter that can lead.
 *
 *   type 1 REQUEST_VOTE     term, priority, transfer, config       25 bytes
 *   type 2 VOTE             term, granted                          11 bytes
 *   type 3 HEARTBEAT        term, round, has-config (boolean),     15 bytes without a configuration,
 *                           [config, voters, has-next (boolean),    at most MAX_ELECTION_FRAME with one
 *                           [next voters]]
 *   type 4 HEARTBEAT_REPLY  term, round, ok, priority, config      29 bytes
 *   type 5 TIMEOUT_NOW      term                                   10 bytes
 *   type 6 PRE_VOTE         term, priority, config                 24 bytes
 *   type 7 PRE_VOTE_REPLY   term, granted                          11 bytes
 *
 * The exchange (Raft's election without a log, see election.ts; voter changes, voters.ts):
 *
 *   would-be candidate → every voter  PRE_VOTE { term, priority, config }
 *     term is the term it would stand in (its own + 1); nobody changes state on it.
 *   voter → would-be candidate        PRE_VOTE_REPLY { term, granted }
 *     granted (term echoes the request's) when the voter would vote now: it has not heard a
 *     leader within the minimum timeout, the term is above its own and the candidate's config
 *     is at least as new as its own; refused with the voter's own term otherwise. Only with a
 *     majority of grants does the node stand.
 *   candidate → every voter  REQUEST_VOTE { term, priority, transfer, config }
 *     term is the candidate's new term; transfer is set only on the election a TIMEOUT_NOW
 *     from the leader started, and lets it through the voters' leader stickiness. config is
 *     the candidate's voter configuration id: a voter whose own is newer refuses.
 *   voter → candidate        VOTE { term, granted }   term is the voter's term after the request
 *   leader → every voter     HEARTBEAT { term, round, configuration? }  every heartbeat interval;
 *     round counts up. configuration is the leader's voter configuration (id and voters), carried to
 *     each voter whose last reply did not show its id; next is set while a change is under way
 *     (a joint configuration). The leader also sends HEARTBEAT to roster members that are not
 *     voters yet, so they follow it and learn the configuration before they count.
 *   voter → leader           HEARTBEAT_REPLY { term, round, ok, priority, config }
 *     echoes the round so the leader can date its lease from when that round was sent; ok is
 *     true when the voter follows this leader in this term; priority is the voter's own;
 *     config the id of the configuration it holds (durably, the heartbeat's taken first), so the
 *     leader knows who holds its own.
 *   leader → chosen voter    TIMEOUT_NOW { term }  the leader has stepped down; start an
 *     election at once (handback to a higher priority, or graceful hand-off).
 */
import { ElectionFrameMalformedError } from './election-errors.js'

export const ELECTION_PROTOCOL = '/instar/election/2.0.0'
/** The most voters one configuration lists. */
export const MAX_CONFIG_VOTERS = 32
/** The longest peer id a configuration carries, in bytes. */
export const MAX_VOTER_ID = 64
/** The longest election frame, in bytes: a HEARTBEAT carrying two full lists of the longest ids. */
export const MAX_ELECTION_FRAME = 28 + 2 * (1 + MAX_CONFIG_VOTERS * (2 + MAX_VOTER_ID))
/** The largest term either side sends or accepts: 2^48 - 1 (see the header). */
export const MAX_TERM = 2 ** 48 - 1
/** The largest configuration epoch: a u32. */
export const MAX_EPOCH = 0xffff_ffff

const VERSION = 2
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
const VOTER_ID = /^[0-9A-Za-z]+$/

/** One voter of a configuration: its peer id, and whether it may lead (a witness may not). */
export interface ConfigVoter {
  peerId: string
  canLead: boolean
}

/** Which configuration a node holds: the term of the leader it came from, and its change count. */
export interface ConfigId {
  stamp: number
  epoch: number
}

/** A leader's configuration as a heartbeat carries it. */
export interface HeartbeatConfig {
  stamp: number
  epoch: number
  voters: ConfigVoter[]
  next: ConfigVoter[] | null
}

export type ElectionMessage =
  | { type: 'request-vote'; term: number; priority: number; transfer: boolean; config: ConfigId }
  | { type: 'vote'; term: number; granted: boolean }
  | { type: 'heartbeat'; term: number; round: number; configuration?: HeartbeatConfig }
  | { type: 'heartbeat-reply'; term: number; round: number; ok: boolean; priority: number; config: ConfigId }
  | { type: 'timeout-now'; term: number }
  | { type: 'pre-vote'; term: number; priority: number; config: ConfigId }
  | { type: 'pre-vote-reply'; term: number; granted: boolean }

const LENGTHS: Record<number, number> = {
  [TYPE_REQUEST_VOTE]: 25,
  [TYPE_VOTE]: 11,
  [TYPE_HEARTBEAT]: 15,
  [TYPE_HEARTBEAT_REPLY]: 29,
  [TYPE_TIMEOUT_NOW]: 10,
  [TYPE_PRE_VOTE]: 24,
  [TYPE_PRE_VOTE_REPLY]: 11,
}

/** Encodes a message; throws ELECTION_FRAME_MALFORMED if a field is out of its range. */
export function encodeElectionMessage(m: ElectionMessage): Uint8Array {
  const type = typeOf(m)
  if (m.type === 'heartbeat' && m.configuration !== undefined) return encodeHeartbeatWithConfig(m, m.configuration)
  const frame = new Uint8Array(LENGTHS[type] ?? 0)
  const view = new DataView(frame.buffer)
  frame[0] = VERSION
  frame[1] = type
  writeTerm(view, 2, m.term)
  switch (m.type) {
    case 'request-vote':
      writeU16(view, 10, m.priority, 'priority')
      frame[12] = writeBool(m.transfer, 'transfer')
      writeConfigId(view, 13, m.config, m.term)
      break
    case 'vote':
      frame[10] = writeBool(m.granted, 'granted')
      break
    case 'heartbeat':
      writeU32(view, 10, m.round, 'round')
      frame[14] = 0
      break
    case 'heartbeat-reply':
      writeU32(view, 10, m.round, 'round')
      frame[14] = writeBool(m.ok, 'ok')
      writeU16(view, 15, m.priority, 'priority')
      writeConfigId(view, 17, m.config, m.term)
      break
    case 'timeout-now':
      break
    case 'pre-vote':
      writeU16(view, 10, m.priority, 'priority')
      writeConfigId(view, 12, m.config, m.term)
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
  if (frame[0] !== VERSION) throw new ElectionFrameMalformedError(`version ${frame[0]} is not supported (this node speaks ${VERSION})`)
  const type = frame[1] ?? 0
  if (frame.length > MAX_ELECTION_FRAME) throw new ElectionFrameMalformedError(`${frame.length} bytes is over the ${MAX_ELECTION_FRAME}-byte limit`)
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const length = LENGTHS[type]
  if (length === undefined) throw new ElectionFrameMalformedError(`unknown message type ${type}`)
  if (type === TYPE_HEARTBEAT && frame.length > length && frame[14] === 1) return decodeHeartbeatWithConfig(frame, view)
  if (frame.length !== length) {
    throw new ElectionFrameMalformedError(`message type ${type} is ${length} bytes, not ${frame.length}`)
  }
  const term = readTerm(view, 2)
  switch (type) {
    case TYPE_REQUEST_VOTE:
      return { type: 'request-vote', term, priority: view.getUint16(10), transfer: readBool(frame, 12, 'transfer'), config: readConfigId(view, 13, term) }
    case TYPE_VOTE:
      return { type: 'vote', term, granted: readBool(frame, 10, 'granted') }
    case TYPE_HEARTBEAT:
      if (readBool(frame, 14, 'has-config')) throw new ElectionFrameMalformedError('a heartbeat ends before its configuration')
      return { type: 'heartbeat', term, round: view.getUint32(10) }
    case TYPE_HEARTBEAT_REPLY:
      return {
        type: 'heartbeat-reply',
        term,
        round: view.getUint32(10),
        ok: readBool(frame, 14, 'ok'),
        priority: view.getUint16(15),
        config: readConfigId(view, 17, term),
      }
    case TYPE_PRE_VOTE:
      return { type: 'pre-vote', term, priority: view.getUint16(10), config: readConfigId(view, 12, term) }
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

/**
 * Why `voters` is not a voter list the protocol carries (count, ids, duplicates, no voter that
 * can lead), or null when it is one. Used on decoding and on a configuration read from storage.
 */
export function voterListProblem(voters: unknown): string | null {
  if (!Array.isArray(voters)) return 'the voters are not a list'
  if (voters.length < 1 || voters.length > MAX_CONFIG_VOTERS) return `${voters.length} voters is not within 1..${MAX_CONFIG_VOTERS}`
  const seen = new Set<string>()
  for (const v of voters as Array<Partial<ConfigVoter> | null>) {
    if (typeof v !== 'object' || v === null) return 'a voter is not an object'
    if (typeof v.canLead !== 'boolean') return 'a voter\'s canLead is not a boolean'
    if (typeof v.peerId !== 'string' || v.peerId.length < 1 || v.peerId.length > MAX_VOTER_ID || !VOTER_ID.test(v.peerId)) {
      return `voter id ${JSON.stringify(String(v.peerId).slice(0, 80))} is not 1..${MAX_VOTER_ID} letters and digits`
    }
    if (seen.has(v.peerId)) return `voter ${v.peerId} is listed twice`
    seen.add(v.peerId)
  }
  if (!(voters as ConfigVoter[]).some((v) => v.canLead)) return 'no voter can lead'
  return null
}

function encodeHeartbeatWithConfig(m: { term: number; round: number }, c: HeartbeatConfig): Uint8Array {
  for (const list of c.next === null ? [c.voters] : [c.voters, c.next]) {
    const problem = voterListProblem(list)
    if (problem !== null) throw new ElectionFrameMalformedError(problem)
  }
  const listBytes = (list: ConfigVoter[]): number => 1 + list.reduce((n, v) => n + 2 + v.peerId.length, 0)
  const frame = new Uint8Array(28 + listBytes(c.voters) + (c.next === null ? 0 : listBytes(c.next)))
  const view = new DataView(frame.buffer)
  frame[0] = VERSION
  frame[1] = TYPE_HEARTBEAT
  writeTerm(view, 2, m.term)
  writeU32(view, 10, m.round, 'round')
  frame[14] = 1
  writeConfigId(view, 15, c, m.term)
  let at = writeVoters(frame, 27, c.voters)
  frame[at++] = c.next === null ? 0 : 1
  if (c.next !== null) writeVoters(frame, at, c.next)
  return frame
}

function writeVoters(frame: Uint8Array, at: number, voters: ConfigVoter[]): number {
  frame[at++] = voters.length
  for (const v of voters) {
    frame[at++] = v.canLead ? 1 : 0
    frame[at++] = v.peerId.length
    for (let i = 0; i < v.peerId.length; i++) frame[at++] = v.peerId.charCodeAt(i)
  }
  return at
}

function decodeHeartbeatWithConfig(frame: Uint8Array, view: DataView): ElectionMessage {
  if (frame.length < 31) throw new ElectionFrameMalformedError(`a heartbeat with a configuration of ${frame.length} bytes is too short`)
  const term = readTerm(view, 2)
  const round = view.getUint32(10)
  const { stamp, epoch } = readConfigId(view, 15, term)
  const first = readVoters(frame, 27)
  if (first.end >= frame.length) throw new ElectionFrameMalformedError('a configuration ends before its next flag')
  const hasNext = readBool(frame, first.end, 'has-next')
  let end = first.end + 1
  let next: ConfigVoter[] | null = null
  if (hasNext) {
    const second = readVoters(frame, end)
    next = second.voters
    end = second.end
  }
  if (end !== frame.length) throw new ElectionFrameMalformedError(`a heartbeat has ${frame.length - end} bytes past its configuration`)
  return { type: 'heartbeat', term, round, configuration: { stamp, epoch, voters: first.voters, next } }
}

function readVoters(frame: Uint8Array, start: number): { voters: ConfigVoter[]; end: number } {
  const count = frame[start]
  if (count === undefined) throw new ElectionFrameMalformedError('a config ends before its voter count')
  let at = start + 1
  const voters: ConfigVoter[] = []
  for (let k = 0; k < count; k++) {
    if (at + 2 > frame.length) throw new ElectionFrameMalformedError('a config ends inside a voter')
    const canLead = readBool(frame, at, 'canLead')
    const length = frame[at + 1] ?? 0
    at += 2
    if (at + length > frame.length) throw new ElectionFrameMalformedError(`a voter id of ${length} bytes does not fit`)
    voters.push({ canLead, peerId: String.fromCharCode(...frame.subarray(at, at + length)) })
    at += length
  }
  const problem = voterListProblem(voters)
  if (problem !== null) throw new ElectionFrameMalformedError(problem)
  return { voters, end: at }
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

function writeTerm(view: DataView, offset: number, term: number, name = 'term'): void {
  if (!isElectionTerm(term)) throw new ElectionFrameMalformedError(`${name} ${term} is not an integer in [0, 2^48-1]`)
  view.setUint32(offset, Math.floor(term / 2 ** 32))
  view.setUint32(offset + 4, term % 2 ** 32)
}

function readTerm(view: DataView, offset: number, name = 'term'): number {
  const high = view.getUint32(offset)
  if (high > MAX_TERM_HIGH) throw new ElectionFrameMalformedError(`${name} is over 2^48-1`)
  return high * 2 ** 32 + view.getUint32(offset + 4)
}

/** A config id's stamp is the term of the leader it came from: never above the message's term. */
function writeConfigId(view: DataView, offset: number, id: ConfigId, term: number): void {
  if (typeof id !== 'object' || id === null) throw new ElectionFrameMalformedError('config id is missing')
  writeTerm(view, offset, id.stamp, 'config stamp')
  if (id.stamp > term) throw new ElectionFrameMalformedError(`config stamp ${id.stamp} is above the message's term ${term}`)
  writeU32(view, offset + 8, id.epoch, 'epoch')
}

function readConfigId(view: DataView, offset: number, term: number): ConfigId {
  const stamp = readTerm(view, offset, 'config stamp')
  if (stamp > term) throw new ElectionFrameMalformedError(`config stamp ${stamp} is above the message's term ${term}`)
  return { stamp, epoch: view.getUint32(offset + 8) }
}

function writeU32(view: DataView, offset: number, value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) throw new ElectionFrameMalformedError(`${name} ${value} is not a u32`)
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
