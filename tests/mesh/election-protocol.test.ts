import { describe, expect, it } from 'vitest'
import { ElectionFrameMalformedError } from '../../mesh/election-errors.js'
import {
  ELECTION_PROTOCOL,
  MAX_CONFIG_VOTERS,
  MAX_ELECTION_FRAME,
  MAX_TERM,
  MAX_VOTER_ID,
  decodeElectionMessage,
  encodeElectionMessage,
  type ElectionMessage,
} from '../../mesh/election-protocol.js'
import { seededRandom } from '../support/sim-network.js'

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code ?? 'NO_CODE'
  }
  return 'NO_ERROR'
}

const TOP = MAX_TERM

const C0 = { stamp: 0, epoch: 0 }
const longId = 'Q'.repeat(MAX_VOTER_ID)
const fullList = Array.from({ length: MAX_CONFIG_VOTERS }, (_, i) => ({ peerId: `${i}${longId}`.slice(0, MAX_VOTER_ID), canLead: i % 2 === 0 }))

const samples: ElectionMessage[] = [
  { type: 'request-vote', term: 1, priority: 0, transfer: false, config: C0 },
  { type: 'request-vote', term: TOP, priority: 65535, transfer: true, config: { stamp: TOP, epoch: 0xffff_ffff } },
  { type: 'vote', term: 0, granted: false },
  { type: 'vote', term: 2 ** 32, granted: true },
  { type: 'heartbeat', term: 7, round: 0 },
  { type: 'heartbeat', term: TOP, round: 0xffff_ffff },
  { type: 'heartbeat-reply', term: 2 ** 40 + 3, round: 12, ok: true, priority: 3, config: { stamp: 2 ** 40, epoch: 7 } },
  { type: 'heartbeat-reply', term: 0, round: 1, ok: false, priority: 0, config: C0 },
  { type: 'timeout-now', term: 99 },
  { type: 'pre-vote', term: 3, priority: 10, config: { stamp: 2, epoch: 1 } },
  { type: 'pre-vote', term: TOP, priority: 65535, config: C0 },
  { type: 'heartbeat', term: 4, round: 2, configuration: { stamp: 0, epoch: 0, voters: [{ peerId: 'a', canLead: true }], next: null } },
  { type: 'heartbeat', term: 9, round: 3, configuration: { stamp: 9, epoch: 3, voters: [{ peerId: 'a', canLead: true }, { peerId: 'w', canLead: false }], next: [{ peerId: 'a', canLead: true }, { peerId: 'b1', canLead: true }] } },
  { type: 'heartbeat', term: TOP, round: 0, configuration: { stamp: 0, epoch: 0xffff_ffff, voters: fullList, next: fullList } },
  { type: 'pre-vote-reply', term: 3, granted: true },
  { type: 'pre-vote-reply', term: 0, granted: false },
]

describe('election frames', () => {
  it('names its protocol', () => {
    expect(ELECTION_PROTOCOL).toBe('/instar/election/2.0.0')
  })

  it.each(samples.map((m) => [m.type, m] as const))('round-trips a %s message', (_type, message) => {
    const frame = encodeElectionMessage(message)
    expect(frame.length).toBeLessThanOrEqual(MAX_ELECTION_FRAME)
    expect(frame[0]).toBe(2)
    expect(decodeElectionMessage(frame)).toEqual(message)
  })

  it('lays a heartbeat reply out big-endian, field by field', () => {
    const frame = encodeElectionMessage({ type: 'heartbeat-reply', term: 2 ** 32 + 5, round: 258, ok: true, priority: 513, config: { stamp: 2 ** 32 + 1, epoch: 3 } })
    expect([...frame]).toEqual([2, 4, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 1, 2, 1, 2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3])
  })

  it('lays a heartbeat out with and without a configuration: term, round, flag, epoch, voters (canLead, length, id), the next flag and next voters', () => {
    expect([...encodeElectionMessage({ type: 'heartbeat', term: 5, round: 1 })]).toEqual([2, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0])
    const frame = encodeElectionMessage({ type: 'heartbeat', term: 5, round: 1, configuration: { stamp: 0, epoch: 2, voters: [{ peerId: 'ab', canLead: true }], next: [{ peerId: 'w', canLead: false }, { peerId: 'ab', canLead: true }] } })
    expect([...frame]).toEqual([2, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 2, 97, 98, 1, 2, 0, 1, 119, 1, 2, 97, 98])
  })

  it('fits the largest configuration in MAX_ELECTION_FRAME exactly', () => {
    const frame = encodeElectionMessage({ type: 'heartbeat', term: 1, round: 1, configuration: { stamp: 0, epoch: 1, voters: fullList, next: fullList } })
    expect(frame.length).toBe(MAX_ELECTION_FRAME)
  })

  it('decodes a frame at an offset inside a larger buffer', () => {
    const frame = encodeElectionMessage({ type: 'timeout-now', term: 42 })
    const buffer = new Uint8Array(frame.length + 5)
    buffer.set(frame, 3)
    expect(decodeElectionMessage(buffer.subarray(3, 3 + frame.length))).toEqual({ type: 'timeout-now', term: 42 })
  })

  const valid = encodeElectionMessage({ type: 'request-vote', term: 3, priority: 1, transfer: true, config: { stamp: 2, epoch: 1 } })
  const config = encodeElectionMessage({ type: 'heartbeat', term: 5, round: 1, configuration: { stamp: 0, epoch: 2, voters: [{ peerId: 'ab', canLead: true }], next: null } })
  const configWith = (voters: Array<[canLead: number, id: string]>, tail: number[] = [0]): Uint8Array =>
    new Uint8Array([2, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2, voters.length, ...voters.flatMap(([c, id]) => [c, id.length, ...[...id].map((ch) => ch.charCodeAt(0))]), ...tail])
  const withByte = (frame: Uint8Array, index: number, value: number): Uint8Array => {
    const copy = frame.slice()
    copy[index] = value
    return copy
  }
  it.each([
    ['an empty frame', new Uint8Array()],
    ['a version byte alone', new Uint8Array([2])],
    ['version 0', withByte(valid, 0, 0)],
    ['version 1 (the protocol before voter configurations)', withByte(valid, 0, 1)],
    ['version 3', withByte(valid, 0, 3)],
    ['type 0', withByte(valid, 1, 0)],
    ['type 8', withByte(valid, 1, 8)],
    ['a pre-vote of the wrong length', new Uint8Array([2, 6, 0, 0, 0, 0, 0, 0, 0, 1, 0])],
    ['a pre-vote reply of the wrong length', new Uint8Array([2, 7, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])],
    ['a pre-vote reply with a boolean byte of 7', withByte(encodeElectionMessage({ type: 'pre-vote-reply', term: 1, granted: true }), 10, 7)],
    ['a short request-vote', valid.subarray(0, 24)],
    ['a long request-vote', new Uint8Array([...valid, 0])],
    ['a version 1 request-vote (13 bytes)', new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 1])],
    ['a vote of the wrong length', new Uint8Array([2, 2, 0, 0, 0, 0, 0, 0, 0, 1])],
    ['a heartbeat of the wrong length', new Uint8Array([2, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])],
    ['a version 1 heartbeat (14 bytes)', new Uint8Array([1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])],
    ['a timeout-now of the wrong length', new Uint8Array([2, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0])],
    ['a boolean byte of 2', withByte(valid, 12, 2)],
    ['a boolean byte of 255', withByte(encodeElectionMessage({ type: 'vote', term: 1, granted: true }), 10, 255)],
    ['a term of 2^53', new Uint8Array([2, 5, 0, 0x20, 0, 0, 0, 0, 0, 0])],
    // The attack of issue 9: a witness's HEARTBEAT at 2^53 - 1, which the old bound let through.
    ['a heartbeat at term 2^53-1', new Uint8Array([2, 3, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0])],
    ['a term of MAX_TERM + 1 (2^48)', new Uint8Array([2, 5, 0, 1, 0, 0, 0, 0, 0, 0])],
    ['a vote at term 2^53-1', new Uint8Array([2, 2, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1])],
    ['a term of 2^64-1', new Uint8Array([2, 5, 255, 255, 255, 255, 255, 255, 255, 255])],
    ['a config stamp above the request\'s term', withByte(valid, 20, 4)],
    ['a config stamp over 2^48-1', withByte(valid, 14, 1)],
    ['a heartbeat reply whose config stamp is above its term', withByte(encodeElectionMessage({ type: 'heartbeat-reply', term: 1, round: 1, ok: true, priority: 0, config: C0 }), 24, 2)],
    ['a config cut short', config.subarray(0, config.length - 1)],
    ['a config with a byte past its end', new Uint8Array([...config, 0])],
    ['a heartbeat whose configuration flag is set but which ends there', config.subarray(0, 15)],
    ['a heartbeat with a configuration of 30 bytes', config.subarray(0, 30)],
    ['a heartbeat configuration stamped above the heartbeat\'s term', withByte(config, 22, 6)],
    ['a heartbeat without a configuration but with bytes past its flag', new Uint8Array([2, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0])],
    ['a heartbeat configuration flag of 2', withByte(config, 14, 2)],
    ['a config with no voters', configWith([])],
    ['a config with more voters than MAX_CONFIG_VOTERS', configWith(Array.from({ length: MAX_CONFIG_VOTERS + 1 }, (_, i) => [1, `v${i}`] as [number, string]))],
    ['a config listing a voter twice', configWith([[1, 'ab'], [0, 'ab']])],
    ['a config with no voter that can lead', configWith([[0, 'w']])],
    ['a config voter with an empty id', configWith([[1, '']])],
    ['a config voter id with a slash', configWith([[1, 'a/b']])],
    ['a config voter id with a NUL', configWith([[1, 'a\u0000']])],
    ['a config voter id longer than MAX_VOTER_ID', configWith([[1, 'x'.repeat(MAX_VOTER_ID + 1)]])],
    ['a config voter id length past the frame', new Uint8Array([2, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 40, 97, 0])],
    ['a config canLead byte of 2', configWith([[2, 'ab']])],
    ['a config next flag of 2', configWith([[1, 'ab']], [2])],
    ['a config whose next list is missing', configWith([[1, 'ab']], [1])],
    ['a config whose next list is empty', configWith([[1, 'ab']], [1, 0])],
    ['a config at term 2^53-1', withByte(withByte(config, 3, 0x1f), 4, 0xff)],
    ['a frame over MAX_ELECTION_FRAME', new Uint8Array(MAX_ELECTION_FRAME + 1).fill(2)],
  ])('refuses %s with ELECTION_FRAME_MALFORMED', (_name, frame) => {
    expect(codeOf(() => decodeElectionMessage(frame))).toBe('ELECTION_FRAME_MALFORMED')
  })

  it('bounds terms at 2^48 - 1, so that term + 1 stays exact', () => {
    expect(MAX_TERM).toBe(2 ** 48 - 1)
    const top = decodeElectionMessage(new Uint8Array([2, 5, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expect(top).toEqual({ type: 'timeout-now', term: MAX_TERM })
    expect(Number.isSafeInteger(top.term + 1)).toBe(true)
  })

  it('refuses anything that is not bytes', () => {
    expect(codeOf(() => decodeElectionMessage('hello' as unknown as Uint8Array))).toBe('ELECTION_FRAME_MALFORMED')
  })

  it('throws nothing but ElectionFrameMalformedError on random bytes', () => {
    const seed = 20240601
    const random = seededRandom(seed)
    for (let k = 0; k < 5000; k++) {
      const frame = new Uint8Array(Math.floor(random() * 48))
      for (let i = 0; i < frame.length; i++) frame[i] = Math.floor(random() * 256)
      // Mostly valid headers, so the field checks get exercised and not just the version.
      if (frame.length > 1 && random() < 0.8) {
        frame[0] = 2
        frame[1] = 1 + Math.floor(random() * 7)
        // Heartbeats with small counts, lengths and terms, so configurations get past their first checks.
        if (frame[1] === 3 && frame.length > 16) {
          frame[2] = 0
          frame[3] = 0
          frame[14] = random() < 0.8 ? 1 : Math.floor(random() * 3)
          for (let i = 15; i < frame.length; i++) if (random() < 0.5) frame[i] = Math.floor(random() * 4)
          for (let i = 15; i < 23; i++) frame[i] = 0
          for (let i = 27; i < frame.length; i++) if (random() < 0.3) frame[i] = 97 + Math.floor(random() * 3)
        }
      }
      try {
        const message = decodeElectionMessage(frame)
        expect(encodeElectionMessage(message), `seed ${seed} case ${k}`).toEqual(frame)
      } catch (err) {
        expect(err, `seed ${seed} case ${k}`).toBeInstanceOf(ElectionFrameMalformedError)
      }
    }
  })

  it.each([
    ['a negative term', { type: 'timeout-now', term: -1 }],
    ['a fractional term', { type: 'timeout-now', term: 1.5 }],
    ['a term past 2^53-1', { type: 'timeout-now', term: 2 ** 53 }],
    ['a term past MAX_TERM', { type: 'pre-vote', term: MAX_TERM + 1, priority: 0 }],
    ['a priority past u16', { type: 'request-vote', term: 1, priority: 65536, transfer: false }],
    ['a pre-vote priority past u16', { type: 'pre-vote', term: 1, priority: 70000 }],
    ['a non-boolean pre-vote grant', { type: 'pre-vote-reply', term: 1, granted: 'yes' }],
    ['a round past u32', { type: 'heartbeat', term: 1, round: 2 ** 32 }],
    ['a request without its config id', { type: 'request-vote', term: 1, priority: 0, transfer: false }],
    ['a config stamp above the term', { type: 'pre-vote', term: 1, priority: 0, config: { stamp: 2, epoch: 0 } }],
    ['an epoch past u32', { type: 'heartbeat-reply', term: 1, round: 1, ok: true, priority: 0, config: { stamp: 1, epoch: 2 ** 32 } }],
    ['a configuration with no voters', { type: 'heartbeat', term: 1, round: 1, configuration: { stamp: 0, epoch: 0, voters: [], next: null } }],
    ['a configuration voter id with a space', { type: 'heartbeat', term: 1, round: 1, configuration: { stamp: 0, epoch: 0, voters: [{ peerId: 'a b', canLead: true }], next: null } }],
    ['a configuration with a voter twice in next', { type: 'heartbeat', term: 1, round: 1, configuration: { stamp: 0, epoch: 0, voters: [{ peerId: 'a', canLead: true }], next: [{ peerId: 'a', canLead: true }, { peerId: 'a', canLead: true }] } }],
    ['a configuration stamped above the heartbeat\'s term', { type: 'heartbeat', term: 1, round: 1, configuration: { stamp: 2, epoch: 0, voters: [{ peerId: 'a', canLead: true }], next: null } }],
    ['a configuration epoch past u32', { type: 'heartbeat', term: 1, round: 1, configuration: { stamp: 0, epoch: 2 ** 32, voters: [{ peerId: 'a', canLead: true }], next: null } }],
    ['a non-boolean flag', { type: 'vote', term: 1, granted: 1 }],
    ['an unknown type', { type: 'gossip', term: 1 }],
  ])('refuses to encode %s', (_name, message) => {
    expect(codeOf(() => encodeElectionMessage(message as unknown as ElectionMessage))).toBe('ELECTION_FRAME_MALFORMED')
  })
})
