/**
 * The hostile fuzz's sync attacks say beforehand what the victim logs, by a mirror of the
 * victim's reassembly of the stream. Junk chunks earlier on the same stream can hold the id or
 * the room a later chunked update needs; the attack must then expect the chunk refusal the
 * victim logs, not the update's own refusal (a CI run once threw from the generator here).
 */
import { decode, encodingLength } from 'uint8-varint'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { syncAttack, type SyncAttack, type SyncContext } from '../../bench/hostile-sync.js'
import type { Random } from '../../bench/hostile-wire.js'
import { createReassembler, type Reassembler } from '../../crdt/sync-reassembly.js'
import { MAX_SYNC_REASSEMBLIES, decodeSyncMessage } from '../../crdt/sync-protocol.js'
import { generateMeshKey } from '../../identity/index.js'

/** Plays `script` first, then 0.5 for ever. This one makes a costly key flood of ~60,000 sets, chunked. */
const scripted =
  (script: number[]): Random =>
  () =>
    script.shift() ?? 0.5
const costly = (): Random => scripted([0.45, 0.999])

/** The message id of an attack's first frame. */
const idOf = (attack: SyncAttack): number => {
  const frame = attack.pieces[0] ?? new Uint8Array()
  const m = decodeSyncMessage(frame.subarray(encodingLength(decode(frame))))
  if (m.type !== 'chunk') throw new Error(`expected a chunk, got ${m.type}`)
  return m.id
}

const contextWith = (reassembler: Reassembler): SyncContext => ({ meshId: 'mesh', key: generateMeshKey(1), memory: new Y.Doc(), reassembler, sent: [], tag: 'oracle' })

/** Begins a junk message in the mirror under `id` and never finishes it. */
const begin = (r: Reassembler, id: number): void => {
  r.add({ type: 'chunk', doc: 'memory', of: 'update', id, index: 0, count: 3, total: 30, data: new Uint8Array(10) })
}

describe('the sync attack oracle', () => {
  it('expects the update refusal for a chunked costly update on a clean stream', () => {
    const attack = syncAttack(costly(), contextWith(createReassembler()))
    expect(attack.kind).toBe('costly')
    expect(attack.pieces.length).toBeGreaterThan(1)
    expect(attack.must).toEqual(['SYNC_UPDATE_REJECTED'])
  })

  it('expects a chunk refusal when junk on the stream began a message under the same id', () => {
    const id = idOf(syncAttack(costly(), contextWith(createReassembler())))
    const mirror = createReassembler()
    begin(mirror, id)
    const attack = syncAttack(costly(), contextWith(mirror))
    expect(idOf(attack)).toBe(id)
    expect(attack.kind).toBe('costly')
    expect(attack.must).toEqual(['SYNC_CHUNK_REFUSED'])
    // The victim dropped both messages; the mirror did the same.
    expect(mirror.inProgress()).toBe(0)
  })

  it('expects a chunk refusal when junk on the stream holds every reassembly slot', () => {
    const mirror = createReassembler()
    for (let id = 100; id < 100 + MAX_SYNC_REASSEMBLIES; id++) begin(mirror, id)
    expect(idOf(syncAttack(costly(), contextWith(createReassembler())))).not.toBeLessThan(100 + MAX_SYNC_REASSEMBLIES)
    const attack = syncAttack(costly(), contextWith(mirror))
    expect(attack.must).toEqual(['SYNC_CHUNK_REFUSED'])
    expect(mirror.inProgress()).toBe(MAX_SYNC_REASSEMBLIES)
  })
})
