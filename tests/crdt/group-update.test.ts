/**
 * The one update that stands for a group's local writes (group-update.ts) says what
 * Y.mergeUpdates of those writes says, whatever the writes: adds, overwrites of a peer's
 * values, deletes, nested maps, with a peer's updates applied between them. Seeded:
 * GROUP_SEED replays one seed.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeGroupUpdate, type DeleteSet, type GroupRange } from '../../crdt/group-update.js'
import { mulberry32 } from '../support/seeded-random.js'

interface Recorded {
  update: Uint8Array
  starts: Map<number, number>
  reaches: Map<number, number>
  deleteSet: DeleteSet
}

function copyOf(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
  return copy
}

const base = process.env.GROUP_SEED === undefined ? 300 : Number(process.env.GROUP_SEED)
const count = process.env.GROUP_SEED === undefined ? 40 : 1

describe('group update', () => {
  it('applies to the same state as the merge of the local updates it stands for', () => {
    for (let seed = base; seed < base + count; seed++) {
      const random = mulberry32(seed)
      const ours = new Y.Doc()
      const peer = new Y.Doc()
      const key = (): string => `k${Math.floor(random() * 12)}`
      const edit = (doc: Y.Doc, step: number): void => {
        const entries = doc.getMap<unknown>('entries')
        const roll = random()
        if (roll < 0.5) entries.set(key(), { step })
        else if (roll < 0.7) entries.delete(key())
        else if (roll < 0.85) {
          const nested = new Y.Map<unknown>()
          entries.set(key(), nested)
          nested.set('n', step)
        } else {
          const nested = entries.get(key())
          if (nested instanceof Y.Map) nested.set('n', step)
          else doc.getMap<unknown>('edits').set(key(), step)
        }
      }
      // A shared history first, so the group overwrites and deletes the peer's items too.
      for (let i = 0; i < 30; i++) edit(random() < 0.5 ? ours : peer, i)
      Y.applyUpdate(ours, Y.encodeStateAsUpdate(peer, Y.encodeStateVector(ours)))
      Y.applyUpdate(peer, Y.encodeStateAsUpdate(ours, Y.encodeStateVector(peer)))
      const before = copyOf(ours)

      const local: Recorded[] = []
      const remote: Uint8Array[] = []
      let recording = true
      ours.on('update', (update: Uint8Array, origin: unknown, _d: Y.Doc, tr: Y.Transaction) => {
        if (!recording || origin === 'peer') return
        const starts = new Map<number, number>()
        const reaches = new Map<number, number>()
        for (const [client, clock] of tr.afterState) {
          const b = tr.beforeState.get(client) ?? 0
          if (clock > b) {
            starts.set(client, b)
            reaches.set(client, clock)
          }
        }
        local.push({ update, starts, reaches, deleteSet: tr.deleteSet })
      })
      for (let step = 100; step < 140; step++) {
        if (random() < 0.2) {
          edit(peer, step)
          const u = Y.encodeStateAsUpdate(peer, Y.encodeStateVector(ours))
          remote.push(u)
          Y.applyUpdate(ours, u, 'peer')
        } else if (random() < 0.3) ours.transact(() => {
          edit(ours, step)
          edit(ours, step + 1000)
        })
        else edit(ours, step)
      }
      recording = false
      const ranges = new Map<number, GroupRange>()
      for (const r of local) {
        for (const [client, to] of r.reaches) {
          const range = ranges.get(client)
          const from = r.starts.get(client) as number
          if (range === undefined) ranges.set(client, { from, to })
          else ranges.set(client, { from: Math.min(range.from, from), to: Math.max(range.to, to) })
        }
      }
      const group = encodeGroupUpdate(ours, ranges, local.map((r) => r.deleteSet))

      const viaGroup = copyOf(before)
      const viaMerge = copyOf(before)
      for (const u of remote) {
        Y.applyUpdate(viaGroup, u)
        Y.applyUpdate(viaMerge, u)
      }
      Y.applyUpdate(viaGroup, group)
      if (local.length > 0) Y.applyUpdate(viaMerge, Y.mergeUpdates(local.map((r) => r.update)))
      expect(viaGroup.store.pendingStructs, `seed ${seed}`).toBeNull()
      expect(Y.equalSnapshots(Y.snapshot(viaGroup), Y.snapshot(viaMerge)), `seed ${seed}`).toBe(true)
      expect(Y.equalSnapshots(Y.snapshot(viaGroup), Y.snapshot(ours)), `seed ${seed}`).toBe(true)
      expect(viaGroup.getMap('entries').toJSON(), `seed ${seed}`).toEqual(ours.getMap('entries').toJSON())
      expect(viaGroup.getMap('edits').toJSON(), `seed ${seed}`).toEqual(ours.getMap('edits').toJSON())
    }
  })
})
