import { describe, expect, it } from 'vitest'
import { ElectionFrameMalformedError } from '../../mesh/election-errors.js'
import {
  ELECTION_PROTOCOL,
  MAX_ELECTION_FRAME,
  MAX_TERM,
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

const samples: ElectionMessage[] = [
  { type: 'request-vote', term: 1, priority: 0, transfer: false },
  { type: 'request-vote', term: TOP, priority: 65535, transfer: true },
  { type: 'vote', term: 0, granted: false },
  { type: 'vote', term: 2 ** 32, granted: true },
  { type: 'heartbeat', term: 7, round: 0 },
  { type: 'heartbeat', term: TOP, round: 0xffff_ffff },
  { type: 'heartbeat-reply', term: 2 ** 40 + 3, round: 12, ok: true, priority: 3 },
  { type: 'heartbeat-reply', term: 0, round: 1, ok: false, priority: 0 },
  { type: 'timeout-now', term: 99 },
  { type: 'pre-vote', term: 3, priority: 10 },
  { type: 'pre-vote', term: TOP, priority: 65535 },
  { type: 'pre-vote-reply', term: 3, granted: true },
  { type: 'pre-vote-reply', term: 0, granted: false },
]

describe('election frames', () => {
  it('names its protocol', () => {
    expect(ELECTION_PROTOCOL).toBe('/instar/election/1.0.0')
  })

  it.each(samples.map((m) => [m.type, m] as const))('round-trips a %s message', (_type, message) => {
    const frame = encodeElectionMessage(message)
    expect(frame.length).toBeLessThanOrEqual(MAX_ELECTION_FRAME)
    expect(frame[0]).toBe(1)
    expect(decodeElectionMessage(frame)).toEqual(message)
  })

  it('lays a heartbeat reply out big-endian, field by field', () => {
    const frame = encodeElectionMessage({ type: 'heartbeat-reply', term: 2 ** 32 + 5, round: 258, ok: true, priority: 513 })
    expect([...frame]).toEqual([1, 4, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 1, 2, 1, 2, 1])
  })

  it('decodes a frame at an offset inside a larger buffer', () => {
    const frame = encodeElectionMessage({ type: 'timeout-now', term: 42 })
    const buffer = new Uint8Array(frame.length + 5)
    buffer.set(frame, 3)
    expect(decodeElectionMessage(buffer.subarray(3, 3 + frame.length))).toEqual({ type: 'timeout-now', term: 42 })
  })

  const valid = encodeElectionMessage({ type: 'request-vote', term: 3, priority: 1, transfer: true })
  const withByte = (frame: Uint8Array, index: number, value: number): Uint8Array => {
    const copy = frame.slice()
    copy[index] = value
    return copy
  }
  it.each([
    ['an empty frame', new Uint8Array()],
    ['a version byte alone', new Uint8Array([1])],
    ['version 0', withByte(valid, 0, 0)],
    ['version 2', withByte(valid, 0, 2)],
    ['type 0', withByte(valid, 1, 0)],
    ['type 8', withByte(valid, 1, 8)],
    ['a pre-vote of the wrong length', new Uint8Array([1, 6, 0, 0, 0, 0, 0, 0, 0, 1, 0])],
    ['a pre-vote reply of the wrong length', new Uint8Array([1, 7, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])],
    ['a pre-vote reply with a boolean byte of 7', withByte(encodeElectionMessage({ type: 'pre-vote-reply', term: 1, granted: true }), 10, 7)],
    ['a short request-vote', valid.subarray(0, 12)],
    ['a long request-vote', new Uint8Array([...valid, 0])],
    ['a vote of the wrong length', new Uint8Array([1, 2, 0, 0, 0, 0, 0, 0, 0, 1])],
    ['a heartbeat of the wrong length', new Uint8Array([1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])],
    ['a timeout-now of the wrong length', new Uint8Array([1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0])],
    ['a boolean byte of 2', withByte(valid, 12, 2)],
    ['a boolean byte of 255', withByte(encodeElectionMessage({ type: 'vote', term: 1, granted: true }), 10, 255)],
    ['a term of 2^53', new Uint8Array([1, 5, 0, 0x20, 0, 0, 0, 0, 0, 0])],
    // The attack of issue 9: a witness's HEARTBEAT at 2^53 - 1, which the old bound let through.
    ['a heartbeat at term 2^53-1', new Uint8Array([1, 3, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1])],
    ['a term of MAX_TERM + 1 (2^48)', new Uint8Array([1, 5, 0, 1, 0, 0, 0, 0, 0, 0])],
    ['a vote at term 2^53-1', new Uint8Array([1, 2, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1])],
    ['a term of 2^64-1', new Uint8Array([1, 5, 255, 255, 255, 255, 255, 255, 255, 255])],
  ])('refuses %s with ELECTION_FRAME_MALFORMED', (_name, frame) => {
    expect(codeOf(() => decodeElectionMessage(frame))).toBe('ELECTION_FRAME_MALFORMED')
  })

  it('bounds terms at 2^48 - 1, so that term + 1 stays exact', () => {
    expect(MAX_TERM).toBe(2 ** 48 - 1)
    const top = decodeElectionMessage(new Uint8Array([1, 5, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
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
      const frame = new Uint8Array(Math.floor(random() * 20))
      for (let i = 0; i < frame.length; i++) frame[i] = Math.floor(random() * 256)
      // Mostly valid headers, so the field checks get exercised and not just the version.
      if (frame.length > 1 && random() < 0.8) {
        frame[0] = 1
        frame[1] = 1 + Math.floor(random() * 7)
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
    ['a non-boolean flag', { type: 'vote', term: 1, granted: 1 }],
    ['an unknown type', { type: 'gossip', term: 1 }],
  ])('refuses to encode %s', (_name, message) => {
    expect(codeOf(() => encodeElectionMessage(message as unknown as ElectionMessage))).toBe('ELECTION_FRAME_MALFORMED')
  })
})
