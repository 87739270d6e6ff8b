/**
 * Hostile frames on /instar/election/1.0.0: every message type with extreme terms, rounds,
 * priorities and booleans (terms up to MAX_TERM and, refused, past it up to 2^64 - 1), the
 * same cut, flipped and grown, frames over MAX_ELECTION_FRAME, length prefixes that lie or
 * never end, frames written a byte at a time, and streams left half-written. What the victim
 * must log is worked out with the real decoder and the election's own rule for a sender that
 * cannot lead (a witness): its leader-only messages are refused.
 */
import { MAX_TERM } from '../mesh/index.js'
import { MAX_ELECTION_FRAME, decodeElectionMessage } from '../mesh/election-protocol.js'
import { concat, endOf, extremeU32, fragment, int, mutate, pick, prefixed, randomBytes, varint, type Attack, type Random } from './hostile-wire.js'

const TYPES = { requestVote: 1, vote: 2, heartbeat: 3, heartbeatReply: 4, timeoutNow: 5, preVote: 6, preVoteReply: 7 } as const
/** Bytes after the 10-byte header of each type. */
const TAIL: Record<number, number> = { 1: 3, 2: 1, 3: 4, 4: 7, 5: 0, 6: 2, 7: 1 }
const LEADER_ONLY = new Set(['heartbeat', 'request-vote', 'pre-vote', 'timeout-now'])

export interface ElectionContext {
  /** The victim's term before the attack. */
  term: number
  /** The sender votes but cannot lead (a witness). */
  cannotLead: boolean
}

/** A raw frame: version, type, an 8-byte big-endian term, then `tail`. */
export function electionFrame(type: number, term: bigint, tail: Uint8Array, version = 1): Uint8Array {
  const frame = new Uint8Array(10 + tail.length)
  frame[0] = version
  frame[1] = type
  new DataView(frame.buffer).setBigUint64(2, BigInt.asUintN(64, term))
  frame.set(tail, 10)
  return frame
}

function extremeTerm(random: Random, current: number): bigint {
  const max = BigInt(MAX_TERM)
  const now = BigInt(current)
  return pick(random, [0n, 1n, now > 0n ? now - 1n : 0n, now, now + 1n, now + 2n, now + BigInt(int(random, 3, 1000)), max - 1n, max, BigInt(Math.floor(random() * MAX_TERM))])
}

function overTerm(random: Random): bigint {
  return pick(random, [BigInt(MAX_TERM) + 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, BigInt(MAX_TERM) + 1n + BigInt(Math.floor(random() * 2 ** 40))])
}

/** The fields after the term: rounds and priorities at their edges, booleans 0 or 1 (or, when `badBool`, anything). */
function tailOf(random: Random, type: number, badBool: boolean): Uint8Array {
  const tail = new Uint8Array(TAIL[type] ?? 0)
  const view = new DataView(tail.buffer)
  const bool = (): number => (badBool ? int(random, 2, 255) : int(random, 0, 1))
  const u16 = (): number => pick(random, [0, 1, 100, 0x7fff, 0xffff, int(random, 0, 0xffff)])
  switch (type) {
    case TYPES.requestVote:
      view.setUint16(0, u16())
      tail[2] = bool()
      break
    case TYPES.vote:
    case TYPES.preVoteReply:
      tail[0] = bool()
      break
    case TYPES.heartbeat:
      view.setUint32(0, extremeU32(random))
      break
    case TYPES.heartbeatReply:
      view.setUint32(0, extremeU32(random))
      tail[4] = bool()
      view.setUint16(5, u16())
      break
    case TYPES.preVote:
      view.setUint16(0, u16())
      break
  }
  return tail
}

/** What a victim logs for one frame from this sender, and whether the stream survives it. */
function oracle(frame: Uint8Array, ctx: ElectionContext): { must: string | null; survives: boolean } {
  if (frame.length > MAX_ELECTION_FRAME) return { must: 'ELECTION_FRAME_MALFORMED', survives: false }
  try {
    const m = decodeElectionMessage(frame)
    return { must: ctx.cannotLead && LEADER_ONLY.has(m.type) ? 'ELECTION_WITNESS_CANNOT_LEAD' : null, survives: true }
  } catch {
    return { must: 'ELECTION_FRAME_MALFORMED', survives: true }
  }
}

function oneFrame(random: Random, ctx: ElectionContext): Uint8Array {
  const type = int(random, 1, 7)
  switch (int(random, 0, 5)) {
    case 0:
    case 1:
      return electionFrame(type, extremeTerm(random, ctx.term), tailOf(random, type, false))
    case 2:
      return electionFrame(type, overTerm(random), tailOf(random, type, false))
    case 3:
      return electionFrame(type, extremeTerm(random, ctx.term), tailOf(random, type, true))
    case 4:
      return electionFrame(pick(random, [0, 8, 9, 0x7f, 0xff]), extremeTerm(random, ctx.term), randomBytes(random, int(random, 0, 7)), pick(random, [0, 1, 2, 0xff]))
    default:
      return mutate(random, electionFrame(type, extremeTerm(random, ctx.term), tailOf(random, type, false)))
  }
}

/**
 * A stream the attacker resets right after writing may be reset before the victim has read
 * what was written (a reset overtakes unread bytes), so what such an attack must earn it only may.
 */
function reset(attack: Attack): Attack {
  return attack.end === 'abort' ? { ...attack, must: [], may: [...attack.may, ...attack.must] } : attack
}

export function electionAttack(random: Random, ctx: ElectionContext): Attack {
  return reset(anElectionAttack(random, ctx))
}

function anElectionAttack(random: Random, ctx: ElectionContext): Attack {
  const roll = random()
  if (roll < 0.12) {
    // A frame over the limit, or a prefix that claims one: refused, and the stream reset.
    const big = random() < 0.5
    const bytes = big ? prefixed(randomBytes(random, int(random, MAX_ELECTION_FRAME + 1, 4096))) : concat([varint(pick(random, [18n, 1n << 20n, 1n << 40n, (1n << 56n) - 1n])), randomBytes(random, int(random, 0, 32))])
    return { protocol: 'election', kind: big ? 'oversize' : 'lying-prefix', pieces: fragment(random, bytes), end: endOf(random), must: ['ELECTION_FRAME_MALFORMED'], may: [] }
  }
  if (roll < 0.17) {
    // A length prefix that never ends (continuation bits all the way).
    return { protocol: 'election', kind: 'endless-prefix', pieces: [new Uint8Array(int(random, 9, 16)).fill(0xff)], end: endOf(random), must: ['ELECTION_FRAME_MALFORMED'], may: [] }
  }
  if (roll < 0.25) {
    // Half a frame, then silence: the victim waits on a stream of this peer's only.
    const frame = prefixed(oneFrame(random, ctx))
    return { protocol: 'election', kind: 'abandoned', pieces: [frame.subarray(0, int(random, 0, Math.max(0, frame.length - 1)))], end: 'abandon', must: [], may: [] }
  }
  const frames = Array.from({ length: int(random, 1, 8) }, () => oneFrame(random, ctx))
  const must = new Set<string>()
  for (const frame of frames) {
    const o = oracle(frame, ctx)
    if (o.must !== null) must.add(o.must)
    // The rest is never read: the stream is reset at a frame over the limit.
    if (!o.survives) break
  }
  return {
    protocol: 'election',
    kind: 'frames',
    pieces: frames.flatMap((f) => fragment(random, prefixed(f))),
    end: endOf(random),
    must: [...must],
    // A witness's answer in a higher term, while the victim leads or hears a leader.
    may: ctx.cannotLead ? ['ELECTION_WITNESS_TERM_REFUSED'] : [],
  }
}
