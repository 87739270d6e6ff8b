import { describe, expect, it } from 'vitest'
import { SyncChunkRefusedError } from '../../crdt/errors.js'
import { createReassembler } from '../../crdt/sync-reassembly.js'
import type { SyncChunk } from '../../crdt/sync-protocol.js'

/** The chunks of one message of `bytes` cut into `count` pieces. */
function chunks(id: number, bytes: Uint8Array, count: number, doc = 'memory', of: SyncChunk['of'] = 'step2'): SyncChunk[] {
  const size = Math.ceil(bytes.length / count)
  return Array.from({ length: count }, (_, index) => ({ type: 'chunk', doc, of, id, index, count, total: bytes.length, data: bytes.subarray(index * size, (index + 1) * size) }))
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill)

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SyncChunkRefusedError)
    expect((err as SyncChunkRefusedError).code).toBe('SYNC_CHUNK_REFUSED')
    return (err as SyncChunkRefusedError).reason
  }
  throw new Error('expected SYNC_CHUNK_REFUSED')
}

describe('putting chunks back together', () => {
  it('gives the whole message back at its last chunk, and nothing before', () => {
    const r = createReassembler()
    const whole = Uint8Array.from({ length: 100 }, (_, i) => i)
    const parts = chunks(1, whole, 4)
    expect(parts.slice(0, 3).map((c) => r.add(c))).toEqual([null, null, null])
    expect(r.inProgress()).toBe(1)
    expect(r.add(parts[3] as SyncChunk)).toEqual({ type: 'step2', doc: 'memory', sealed: whole })
    expect(r.inProgress()).toBe(0)
    expect(r.announcedBytes()).toBe(0)
  })

  it('keeps interleaved messages apart by id', () => {
    const r = createReassembler()
    const a = chunks(1, bytes(10, 1), 2, 'memory')
    const b = chunks(2, bytes(6, 2), 2, 'jobs', 'update')
    expect(r.add(a[0] as SyncChunk)).toBeNull()
    expect(r.add(b[0] as SyncChunk)).toBeNull()
    expect(r.add(b[1] as SyncChunk)).toEqual({ type: 'update', doc: 'jobs', sealed: bytes(6, 2) })
    expect(r.add(a[1] as SyncChunk)).toEqual({ type: 'step2', doc: 'memory', sealed: bytes(10, 1) })
  })

  it('refuses a chunk out of order and drops its message, with one refusal for the whole message', () => {
    const r = createReassembler()
    const parts = chunks(1, bytes(40), 4)
    r.add(parts[0] as SyncChunk)
    expect(refusal(() => r.add(parts[2] as SyncChunk))).toBe('out-of-order')
    expect(r.inProgress()).toBe(0)
    // The rest of the dropped message goes without a word.
    expect(r.add(parts[1] as SyncChunk)).toBeNull()
    expect(r.add(parts[3] as SyncChunk)).toBeNull()
    // And the next message is taken as usual.
    const next = chunks(2, bytes(4), 2)
    r.add(next[0] as SyncChunk)
    expect(r.add(next[1] as SyncChunk)?.sealed).toEqual(bytes(4))
  })

  it('refuses a chunk of a message never begun', () => {
    expect(refusal(() => createReassembler().add(chunks(5, bytes(10), 2)[1] as SyncChunk))).toBe('unknown-message')
  })

  it('refuses a second beginning of a message in progress', () => {
    const r = createReassembler()
    const parts = chunks(1, bytes(10), 2)
    r.add(parts[0] as SyncChunk)
    expect(refusal(() => r.add(parts[0] as SyncChunk))).toBe('duplicate-message')
    expect(r.inProgress()).toBe(0)
  })

  it('refuses a chunk that disagrees with its first chunk', () => {
    const r = createReassembler()
    const parts = chunks(1, bytes(10), 2)
    r.add(parts[0] as SyncChunk)
    expect(refusal(() => r.add({ ...(parts[1] as SyncChunk), doc: 'jobs' }))).toBe('mismatch')
  })

  it('refuses chunks that carry more, or fewer, bytes than announced', () => {
    const r = createReassembler()
    r.add({ type: 'chunk', doc: 'memory', of: 'step2', id: 1, index: 0, count: 2, total: 4, data: bytes(4) })
    expect(refusal(() => r.add({ type: 'chunk', doc: 'memory', of: 'step2', id: 1, index: 1, count: 2, total: 4, data: bytes(1) }))).toBe('overrun')
    r.add({ type: 'chunk', doc: 'memory', of: 'step2', id: 2, index: 0, count: 2, total: 4, data: bytes(1) })
    expect(refusal(() => r.add({ type: 'chunk', doc: 'memory', of: 'step2', id: 2, index: 1, count: 2, total: 4, data: bytes(1) }))).toBe('short')
    expect(r.announcedBytes()).toBe(0)
  })

  it('refuses a message over the byte limit, and messages past the count and total bounds', () => {
    const r = createReassembler({ maxMessageBytes: 100, maxBytes: 150, maxMessages: 2 })
    expect(refusal(() => r.add(chunks(1, bytes(101), 2)[0] as SyncChunk))).toBe('too-large')
    r.add(chunks(2, bytes(100), 2)[0] as SyncChunk)
    expect(refusal(() => r.add(chunks(3, bytes(60), 2)[0] as SyncChunk))).toBe('too-large')
    r.add(chunks(4, bytes(50), 2)[0] as SyncChunk)
    expect(refusal(() => r.add(chunks(5, bytes(2), 2)[0] as SyncChunk))).toBe('too-many-messages')
    expect(r.inProgress()).toBe(2)
    expect(r.announcedBytes()).toBe(150)
  })

  it('remembers only a bounded number of dropped messages', () => {
    const r = createReassembler({ maxMessages: 2 })
    for (let id = 1; id <= 50; id++) {
      r.add(chunks(id, bytes(40), 4)[0] as SyncChunk)
      expect(refusal(() => r.add(chunks(id, bytes(40), 4)[2] as SyncChunk))).toBe('out-of-order')
    }
    expect(r.inProgress()).toBe(0)
    // The latest dropped message is still remembered: its last chunk goes without a word.
    expect(r.add(chunks(50, bytes(40), 4)[3] as SyncChunk)).toBeNull()
    // Id 1 was forgotten long ago: its last chunk is refused as never begun.
    expect(refusal(() => r.add(chunks(1, bytes(40), 4)[3] as SyncChunk))).toBe('unknown-message')
  })
})
