import { randomInt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { SyncFrameMalformedError } from '../../crdt/errors.js'
import {
  MAX_SYNC_FRAME,
  MAX_SYNC_MESSAGE_BYTES,
  SYNC_PROTOCOL,
  SYNC_TYPE_CHUNK,
  SYNC_TYPE_CREDIT,
  SYNC_TYPE_REFUSED,
  SYNC_VERSION,
  checkStateVector,
  decodeSyncMessage,
  encodeSyncMessage,
  encodeSyncMessageFrame,
  refusedReason,
  syncFrameCount,
  type SyncMessage,
} from '../../crdt/sync-protocol.js'
import { mulberry32 as prng } from '../support/seeded-random.js'

function randomBytes(next: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(next() * 256)
  return bytes
}

/** A state vector of a document edited by `clients` replicas, as Yjs itself encodes it. */
function realStateVector(clients: number): Uint8Array {
  const doc = new Y.Doc()
  for (let i = 0; i < clients; i++) {
    const replica = new Y.Doc()
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc))
    replica.getText('notes').insert(0, `edit ${i} `.repeat(i + 1))
    replica.getMap('meta').set(`k${i}`, i)
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(replica))
  }
  return Y.encodeStateVector(doc)
}

function frame(...parts: Array<number[] | Uint8Array>): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)))
}

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0))
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

function malformedReason(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SyncFrameMalformedError)
    expect((err as SyncFrameMalformedError).code).toBe('SYNC_FRAME_MALFORMED')
    return (err as SyncFrameMalformedError).reason
  }
  throw new Error('expected SYNC_FRAME_MALFORMED, but nothing was thrown')
}

describe('sync protocol frames', () => {
  it('is the /instar/sync/2.0.0 protocol, version byte 2', () => {
    expect(SYNC_PROTOCOL).toBe('/instar/sync/2.0.0')
    expect(SYNC_VERSION).toBe(2)
  })

  it('keeps a frame and the flow window well under the 4 MiB that libp2p buffers per stream', () => {
    expect(MAX_SYNC_FRAME).toBe(1024 * 1024)
    expect(MAX_SYNC_FRAME).toBeLessThan(4 * 1024 * 1024)
  })

  it('round-trips a step 1 carrying a real Yjs state vector', () => {
    const stateVector = realStateVector(3)
    const frameBytes = encodeSyncMessage({ type: 'step1', doc: 'memory', stateVector })
    const decoded = decodeSyncMessage(frameBytes)
    expect(decoded).toEqual({ type: 'step1', doc: 'memory', stateVector })
    if (decoded.type !== 'step1') throw new Error('unreachable')
    expect(checkStateVector(decoded.stateVector)).toEqual(Y.decodeStateVector(stateVector))
    expect(checkStateVector(decoded.stateVector).size).toBe(3)
  })

  it('round-trips the state vector of an empty document', () => {
    const stateVector = Y.encodeStateVector(new Y.Doc())
    expect(decodeSyncMessage(encodeSyncMessage({ type: 'step1', doc: 'jobs', stateVector }))).toEqual({
      type: 'step1',
      doc: 'jobs',
      stateVector,
    })
    expect(checkStateVector(stateVector).size).toBe(0)
  })

  it('round-trips step 2 and update with their sealed bytes untouched', () => {
    const sealed = randomBytes(prng(7), 300)
    for (const type of ['step2', 'update'] as const) {
      const m: SyncMessage = { type, doc: 'relationships', sealed }
      expect(decodeSyncMessage(encodeSyncMessage(m))).toEqual(m)
    }
  })

  it('round-trips done and ack, including the largest and smallest counts', () => {
    for (const m of [
      { type: 'done', doc: 'channels' },
      { type: 'ack', doc: 'secrets', count: 0 },
      { type: 'ack', doc: 'secrets', count: 12345 },
      { type: 'ack', doc: 'secrets', count: 0xffff_ffff },
    ] satisfies SyncMessage[]) {
      expect(decodeSyncMessage(encodeSyncMessage(m))).toEqual(m)
    }
  })

  it('accepts document names of 1 and 32 characters', () => {
    for (const doc of ['a', `a${'b-9'.repeat(10)}z`]) {
      expect(decodeSyncMessage(encodeSyncMessage({ type: 'done', doc }))).toEqual({ type: 'done', doc })
    }
  })

  it('lays out the header as version, type, name length, name', () => {
    const bytes = encodeSyncMessage({ type: 'ack', doc: 'jobs', count: 0x01020304 })
    expect(Array.from(bytes)).toEqual([2, 5, 4, ...ascii('jobs'), 1, 2, 3, 4])
  })

  it('round-trips a chunk, a refusal and a credit', () => {
    for (const m of [
      { type: 'chunk', doc: 'memory', of: 'step2', id: 7, index: 1, count: 3, total: 10, data: Uint8Array.of(1, 2, 3, 4) },
      { type: 'chunk', doc: 'jobs', of: 'update', id: 0xffff_ffff, index: 0, count: 2, total: 2, data: Uint8Array.of(9) },
      { type: 'refused', doc: 'channels', of: 'update', code: 'SYNC_UPDATE_REJECTED', reason: 'malformed' },
      { type: 'refused', doc: 'channels', of: 'step2', code: 'X', reason: '' },
      { type: 'credit', bytes: 1 },
      { type: 'credit', bytes: 0xffff_ffff },
    ] satisfies SyncMessage[]) {
      expect(decodeSyncMessage(encodeSyncMessage(m))).toEqual(m)
    }
  })

  it('lays out a chunk as of, id, index, count, total, data after the header', () => {
    const bytes = encodeSyncMessage({ type: 'chunk', doc: 'a', of: 'update', id: 1, index: 2, count: 3, total: 4, data: Uint8Array.of(0xee) })
    expect(Array.from(bytes)).toEqual([2, SYNC_TYPE_CHUNK, 1, ...ascii('a'), 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xee])
  })

  it('lays out a refusal as of, code length, code, reason, and a credit as version, type, bytes', () => {
    expect(Array.from(encodeSyncMessage({ type: 'refused', doc: 'a', of: 'step2', code: 'AB', reason: 'x' }))).toEqual([2, SYNC_TYPE_REFUSED, 1, ...ascii('a'), 2, 2, ...ascii('AB'), ...ascii('x')])
    expect(Array.from(encodeSyncMessage({ type: 'credit', bytes: 0x01020304 }))).toEqual([2, SYNC_TYPE_CREDIT, 1, 2, 3, 4])
  })
})

describe('splitting a large message into frames', () => {
  it('sends a message that fits as one step 2 or update frame', () => {
    const sealed = randomBytes(prng(3), 1000)
    expect(syncFrameCount('memory', sealed.length)).toBe(1)
    expect(decodeSyncMessage(encodeSyncMessageFrame({ type: 'step2', doc: 'memory', sealed }, 5, 0))).toEqual({ type: 'step2', doc: 'memory', sealed })
  })

  it('cuts a 3.5 MiB step 2 into chunks under the frame limit that join back to the same bytes', () => {
    const sealed = randomBytes(prng(4), 3.5 * 1024 * 1024)
    const count = syncFrameCount('channels', sealed.length)
    expect(count).toBe(4)
    const parts: Uint8Array[] = []
    for (let i = 0; i < count; i++) {
      const frame = encodeSyncMessageFrame({ type: 'step2', doc: 'channels', sealed }, 9, i)
      expect(frame.length).toBeLessThanOrEqual(MAX_SYNC_FRAME)
      const m = decodeSyncMessage(frame)
      if (m.type !== 'chunk') throw new Error(`expected a chunk, got ${m.type}`)
      expect(m).toMatchObject({ doc: 'channels', of: 'step2', id: 9, index: i, count, total: sealed.length })
      parts.push(m.data)
    }
    expect(Buffer.concat(parts).equals(Buffer.from(sealed))).toBe(true)
  })

  it('refuses to send a message over MAX_SYNC_MESSAGE_BYTES with SYNC_MESSAGE_TOO_LARGE', () => {
    expect(() => syncFrameCount('memory', MAX_SYNC_MESSAGE_BYTES + 1)).toThrow(expect.objectContaining({ code: 'SYNC_MESSAGE_TOO_LARGE' }))
    expect(syncFrameCount('memory', MAX_SYNC_MESSAGE_BYTES)).toBeGreaterThan(100)
  })

  it('makes any text a valid refusal reason', () => {
    const reason = refusedReason(`bad\u0000\u001b[31m\u202e${'x'.repeat(300)}`)
    expect(reason.length).toBe(200)
    expect(() => encodeSyncMessage({ type: 'refused', doc: 'memory', of: 'update', code: 'SYNC_UPDATE_REJECTED', reason })).not.toThrow()
  })

  it('returns byte fields that do not alias the frame', () => {
    const bytes = encodeSyncMessage({ type: 'update', doc: 'memory', sealed: Uint8Array.of(1, 2, 3) })
    const decoded = decodeSyncMessage(bytes)
    bytes.fill(0)
    expect(decoded).toEqual({ type: 'update', doc: 'memory', sealed: Uint8Array.of(1, 2, 3) })
  })

  it('decodes a frame that is a view into a larger buffer', () => {
    const inner = encodeSyncMessage({ type: 'ack', doc: 'memory', count: 77 })
    const outer = new Uint8Array(inner.length + 10)
    outer.set(inner, 5)
    expect(decodeSyncMessage(outer.subarray(5, 5 + inner.length))).toEqual({ type: 'ack', doc: 'memory', count: 77 })
  })
})

describe('malformed and hostile frames', () => {
  const sv = Array.from(realStateVector(2))
  const hostile: Array<[string, () => Uint8Array, string]> = [
    ['an empty frame', () => frame([]), 'empty frame'],
    ['a 1-byte frame', () => frame([2]), 'has no message type'],
    ['a 2-byte frame', () => frame([2, 4]), 'shorter than the 3-byte header'],
    ['version 0', () => frame([0, 4, 1], ascii('a')), 'version 0 is not supported'],
    ['a version 1 frame', () => frame([1, 4, 1], ascii('a')), 'version 1 is not supported'],
    ['version 3', () => frame([3, 4, 1], ascii('a')), 'version 3 is not supported'],
    ['type 0', () => frame([2, 0, 1], ascii('a')), 'unknown message type 0'],
    ['type 9', () => frame([2, 9, 1], ascii('a')), 'unknown message type 9'],
    ['a credit of 0 bytes', () => frame([2, 8, 0, 0, 0, 0]), 'credit of 0 bytes'],
    ['a credit of 3 bytes', () => frame([2, 8, 0, 0, 1]), 'credit must carry exactly 4 bytes, not 3'],
    ['a credit of 5 bytes', () => frame([2, 8, 0, 0, 0, 0, 1]), 'credit must carry exactly 4 bytes, not 5'],
    ['a chunk without its fields', () => frame([2, 6, 1], ascii('a'), [2, 0, 0]), 'shorter than its 18-byte minimum'],
    ['a chunk of a step 1', () => frame([2, 6, 1], ascii('a'), [1], u32(1), u32(0), u32(2), u32(4), [1]), 'chunk of message type 1'],
    ['a chunk with a count of 1', () => frame([2, 6, 1], ascii('a'), [2], u32(1), u32(0), u32(1), u32(4), [1]), 'chunk count 1 is under 2'],
    ['a chunk whose index is its count', () => frame([2, 6, 1], ascii('a'), [2], u32(1), u32(3), u32(3), u32(4), [1]), 'chunk index 3 is not below the count 3'],
    ['a chunk announcing more than the message limit', () => frame([2, 6, 1], ascii('a'), [3], u32(1), u32(0), u32(2), u32(MAX_SYNC_MESSAGE_BYTES + 1), [1]), 'exceeds the 134217728-byte limit'],
    ['a chunk count above the total', () => frame([2, 6, 1], ascii('a'), [3], u32(1), u32(0), u32(5), u32(4), [1]), 'chunk count 5 exceeds'],
    ['a chunk with no data', () => frame([2, 6, 1], ascii('a'), [3], u32(1), u32(0), u32(2), u32(4)), 'shorter than its 18-byte minimum'],
    ['a chunk with more data than its total', () => frame([2, 6, 1], ascii('a'), [3], u32(1), u32(0), u32(2), u32(2), [1, 2, 3]), 'exceeds the message\'s 2 bytes'],
    ['a refusal of a done', () => frame([2, 7, 1], ascii('a'), [4, 1], ascii('X')), 'refused of message type 4'],
    ['a refusal with an empty code', () => frame([2, 7, 1], ascii('a'), [3, 0, 0x78]), 'refused code length 0'],
    ['a refusal whose code runs past the frame', () => frame([2, 7, 1], ascii('a'), [3, 9], ascii('AB')), 'runs past the end'],
    ['a refusal with a lowercase code', () => frame([2, 7, 1], ascii('a'), [3, 2], ascii('ab')), 'must start with an uppercase letter'],
    ['a refusal with an escape in its reason', () => frame([2, 7, 1], ascii('a'), [3, 1], ascii('X'), [0x1b, 0x5b]), 'byte 0x1b at offset 0'],
    ['a refusal with a 201-byte reason', () => frame([2, 7, 1], ascii('a'), [3, 1], ascii('X'), ascii('r'.repeat(201))), 'exceeds 200'],
    ['a document name length of 0', () => frame([2, 4, 0]), 'document name length 0 is outside 1..32'],
    ['a document name length of 33', () => frame([2, 4, 33], ascii('a'.repeat(33))), 'document name length 33 is outside 1..32'],
    ['a document name longer than the frame', () => frame([2, 4, 10], ascii('memo')), 'runs past the end of the 7-byte frame'],
    ['an uppercase document name', () => frame([2, 4, 6], ascii('Memory')), 'must start with a lowercase letter, not byte 0x4d'],
    ['an uppercase letter inside the name', () => frame([2, 4, 6], ascii('memOry')), 'byte 0x4f at offset 3'],
    ['a "/" in the document name', () => frame([2, 4, 5], ascii('a/b/c')), 'byte 0x2f at offset 1'],
    ['a non-ASCII document name', () => frame([2, 4, 3], [0x61, 0xc3, 0xa9]), 'non-ASCII byte 0xc3 at offset 1'],
    ['a document name starting with a digit', () => frame([2, 4, 2], ascii('9a')), 'must start with a lowercase letter'],
    ['a step 1 without a state vector', () => frame([2, 1, 1], ascii('a')), 'state vector is empty'],
    ['a step 2 with an empty payload', () => frame([2, 2, 1], ascii('a')), 'step2 carries no sealed bytes'],
    ['an update with an empty payload', () => frame([2, 3, 1], ascii('a')), 'update carries no sealed bytes'],
    ['a done with a payload', () => frame([2, 4, 1], ascii('a'), [0, 0, 0]), 'done must carry no payload, not 3 bytes'],
    ['an ack with 3 bytes', () => frame([2, 5, 1], ascii('a'), [0, 0, 1]), 'ack count must be exactly 4 bytes, not 3'],
    ['an ack with 5 bytes', () => frame([2, 5, 1], ascii('a'), [0, 0, 0, 0, 1]), 'ack count must be exactly 4 bytes, not 5'],
    [
      'a frame one byte over the limit',
      () => {
        const big = new Uint8Array(MAX_SYNC_FRAME + 1)
        big.set([2, 3, 1, 0x61])
        return big
      },
      `exceeds the ${MAX_SYNC_FRAME}-byte limit`,
    ],
    [
      'a step 1 with random bytes for a state vector',
      // Seed 1's bytes claim 32 entries with only 62 bytes left to hold them.
      () => frame([2, 1, 1], ascii('a'), randomBytes(prng(1), 64)),
      'state vector',
    ],
    ['a state vector claiming 2^32 entries', () => frame([2, 1, 1], ascii('a'), [0x80, 0x80, 0x80, 0x80, 0x10, 1, 1]), 'claims 4294967296 entries'],
    ['a state vector claiming more entries than it holds', () => frame([2, 1, 1], ascii('a'), [3, 1, 1]), 'claims 3 entries but has only 2 bytes'],
    ['a state vector cut off inside an entry', () => frame([2, 1, 1], ascii('a'), [1, 5, 0x85]), 'truncated in the clock of entry 0'],
    ['a state vector with trailing bytes', () => frame([2, 1, 1], ascii('a'), sv, [0]), 'trailing bytes'],
    ['a state vector listing a client twice', () => frame([2, 1, 1], ascii('a'), [2, 7, 1, 7, 2]), 'lists client 7 twice'],
    [
      'a state vector with a clock beyond 2^53',
      () => frame([2, 1, 1], ascii('a'), [1, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
      'clock of entry 0 is larger than 2^53 - 1',
    ],
    ['a state vector with an overlong varint', () => frame([2, 1, 1], ascii('a'), [1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1]), 'longer than 8 bytes'],
  ]

  it.each(hostile)('refuses %s', (_name, build, reason) => {
    const bytes = build()
    expect(malformedReason(() => decodeSyncMessage(bytes))).toContain(reason)
  })

  it('refuses a value that is not bytes', () => {
    expect(malformedReason(() => decodeSyncMessage('hello' as unknown as Uint8Array))).toBe('frame is not bytes')
    expect(malformedReason(() => decodeSyncMessage(null as unknown as Uint8Array))).toBe('frame is not bytes')
  })

  it('refuses a state vector over 1 MiB before reading it', () => {
    expect(malformedReason(() => checkStateVector(new Uint8Array(1024 * 1024 + 1)))).toContain('exceeds the 1048576-byte limit')
  })

  it('refuses a state vector of more than 100,000 entries', () => {
    // 100,001 entries of two one-byte varints after a three-byte count: well under 1 MiB.
    const count = 100_001
    const sv = new Uint8Array(3 + count * 2)
    sv.set([count & 0x7f | 0x80, (count >> 7) & 0x7f | 0x80, count >> 14])
    expect(malformedReason(() => checkStateVector(sv))).toContain('claims 100001 entries, over the 100000-entry limit')
  })
})

describe('encoding refuses what a peer would refuse', () => {
  const refusals: Array<[string, unknown, string]> = [
    ['an unknown type', { type: 'hello', doc: 'memory' }, 'unknown message type hello'],
    ['a message that is not an object', null, 'message is not an object'],
    ['an empty document name', { type: 'done', doc: '' }, 'document name length 0'],
    ['a 33-character document name', { type: 'done', doc: 'a'.repeat(33) }, 'document name length 33'],
    ['an uppercase document name', { type: 'done', doc: 'Memory' }, 'must start with a lowercase letter'],
    ['a non-ASCII document name', { type: 'done', doc: 'mémoire' }, 'non-ASCII byte 0xe9 at offset 1'],
    ['a name with a character beyond Latin-1', { type: 'done', doc: 'a\u0161' }, 'non-ASCII byte 0xff'],
    ['a document name that is not a string', { type: 'done', doc: 42 }, 'doc is not a string'],
    ['an empty sealed payload', { type: 'update', doc: 'memory', sealed: new Uint8Array(0) }, 'sealed is empty'],
    ['a sealed payload that is not bytes', { type: 'step2', doc: 'memory', sealed: [1, 2] }, 'sealed is not a Uint8Array'],
    ['a malformed state vector', { type: 'step1', doc: 'memory', stateVector: Uint8Array.of(2, 1) }, 'claims 2 entries'],
    ['a negative ack count', { type: 'ack', doc: 'memory', count: -1 }, 'count must be an integer'],
    ['an ack count over 2^32 - 1', { type: 'ack', doc: 'memory', count: 2 ** 32 }, 'count must be an integer'],
    ['a fractional ack count', { type: 'ack', doc: 'memory', count: 1.5 }, 'count must be an integer'],
    ['a credit of 0', { type: 'credit', bytes: 0 }, 'bytes must be an integer in 1..'],
    ['a chunk of a done', { type: 'chunk', doc: 'memory', of: 'done', id: 1, index: 0, count: 2, total: 2, data: Uint8Array.of(1) }, 'of must be'],
    ['a chunk count of 1', { type: 'chunk', doc: 'memory', of: 'update', id: 1, index: 0, count: 1, total: 2, data: Uint8Array.of(1) }, 'chunk count 1'],
    ['a negative chunk id', { type: 'chunk', doc: 'memory', of: 'update', id: -1, index: 0, count: 2, total: 2, data: Uint8Array.of(1) }, 'id must be an integer'],
    ['a refusal with a control character', { type: 'refused', doc: 'memory', of: 'update', code: 'X', reason: 'a\nb' }, 'only printable ASCII'],
    ['a refusal with a lowercase code', { type: 'refused', doc: 'memory', of: 'update', code: 'x', reason: '' }, 'uppercase letter'],
  ]

  it.each(refusals)('refuses %s', (_name, message, reason) => {
    expect(malformedReason(() => encodeSyncMessage(message as SyncMessage))).toContain(reason)
  })

  it('refuses a frame over the limit', () => {
    const sealed = new Uint8Array(MAX_SYNC_FRAME - 3 - 'memory'.length + 1)
    expect(malformedReason(() => encodeSyncMessage({ type: 'update', doc: 'memory', sealed }))).toContain('frame limit')
    expect(() => encodeSyncMessage({ type: 'update', doc: 'memory', sealed: sealed.subarray(1) })).not.toThrow()
  })
})

describe('fuzzing the decoder', () => {
  const envSeed = process.env.SYNC_FUZZ_SEED
  const seed = envSeed !== undefined && envSeed !== '' ? Number(envSeed) >>> 0 : randomInt(0, 2 ** 32)

  /** Decode must either refuse with SYNC_FRAME_MALFORMED or give a message that encodes back to the same bytes. */
  function check(bytes: Uint8Array, label: string): boolean {
    let decoded: SyncMessage
    try {
      decoded = decodeSyncMessage(bytes)
    } catch (err) {
      if (err instanceof SyncFrameMalformedError && err.code === 'SYNC_FRAME_MALFORMED') return false
      throw new Error(`${label} threw a foreign error (SYNC_FUZZ_SEED=${seed}): ${String(err)}`, { cause: err })
    }
    const again = encodeSyncMessage(decoded)
    if (Buffer.compare(again, bytes) !== 0) {
      throw new Error(`${label} decoded to a message that does not re-encode to the same bytes (SYNC_FUZZ_SEED=${seed})`)
    }
    return true
  }

  function validFrames(): Uint8Array[] {
    const sealed = randomBytes(prng(seed ^ 0x5eed), 48)
    return [
      encodeSyncMessage({ type: 'step1', doc: 'memory', stateVector: realStateVector(4) }),
      encodeSyncMessage({ type: 'step1', doc: 'jobs', stateVector: Y.encodeStateVector(new Y.Doc()) }),
      encodeSyncMessage({ type: 'step2', doc: 'relationships', sealed }),
      encodeSyncMessage({ type: 'update', doc: 'channels', sealed }),
      encodeSyncMessage({ type: 'done', doc: 'secrets' }),
      encodeSyncMessage({ type: 'ack', doc: 'a-b-c', count: 123456 }),
      encodeSyncMessage({ type: 'chunk', doc: 'memory', of: 'step2', id: 3, index: 1, count: 4, total: 200, data: sealed }),
      encodeSyncMessage({ type: 'refused', doc: 'jobs', of: 'update', code: 'SYNC_UPDATE_REJECTED', reason: 'malformed' }),
      encodeSyncMessage({ type: 'credit', bytes: 65536 }),
    ]
  }

  it('only ever refuses 5,000 random frames with SYNC_FRAME_MALFORMED', { timeout: 5_000 }, () => {
    const next = prng(seed)
    for (let i = 0; i < 5_000; i++) {
      const length = Math.floor(next() * 80)
      const bytes = randomBytes(next, length)
      // Bias towards frames that get past the header, so the payload checks are reached.
      if (length > 0 && next() < 0.7) bytes[0] = 2
      if (length > 1 && next() < 0.7) bytes[1] = 1 + Math.floor(next() * 8)
      if (length > 2 && next() < 0.7) bytes[2] = 1 + Math.floor(next() * Math.min(32, length))
      if (length > 3 && next() < 0.5) bytes[3] = 0x61
      check(bytes, `random frame ${i}`)
    }
  })

  it('only ever refuses 5,000 mutations of valid frames with SYNC_FRAME_MALFORMED', { timeout: 5_000 }, () => {
    const next = prng(seed ^ 0x9e3779b9)
    const valid = validFrames()
    for (const bytes of valid) expect(check(bytes, 'a valid frame')).toBe(true)
    let accepted = 0
    for (let i = 0; i < 5_000; i++) {
      const source = valid[Math.floor(next() * valid.length)]
      if (source === undefined) throw new Error('unreachable')
      let bytes: Uint8Array = source.slice()
      const mutations = 1 + Math.floor(next() * 3)
      for (let k = 0; k < mutations; k++) {
        const at = Math.floor(next() * (bytes.length + 1))
        switch (Math.floor(next() * 6)) {
          case 0: // flip a bit
            if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << Math.floor(next() * 8)
            break
          case 1: // overwrite a byte
            if (bytes.length > 0) bytes[at % bytes.length] = Math.floor(next() * 256)
            break
          case 2: // truncate
            bytes = bytes.slice(0, at)
            break
          case 3: // insert random bytes
            bytes = frame(bytes.subarray(0, at), randomBytes(next, 1 + Math.floor(next() * 8)), bytes.subarray(at))
            break
          case 4: // delete a run
            bytes = frame(bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(next() * 8)))
            break
          default: // set a header byte to an edge value
            if (bytes.length > 2) bytes[Math.floor(next() * 3)] = [0, 1, 2, 5, 6, 8, 9, 32, 33, 0x7f, 0x80, 0xff][Math.floor(next() * 12)] ?? 0
        }
      }
      if (check(bytes, `mutation ${i}`)) accepted++
    }
    // Mutations inside sealed bytes and counts stay valid, so the re-encode check is exercised.
    expect(accepted, `SYNC_FUZZ_SEED=${seed}`).toBeGreaterThan(0)
  })
})
