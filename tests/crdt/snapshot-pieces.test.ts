/**
 * Snapshot pieces (snapshot-pieces.ts): a document written by several machines, with edits
 * that depend on each other across machines, deletes and nested maps, cut into pieces that
 * each apply in full, in order, to the same state. Seeded: SNAPSHOT_SEED replays one seed.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeSnapshotPieces } from '../../crdt/snapshot-pieces.js'
import { mulberry32 } from '../support/seeded-random.js'

/** Three machines editing the same keys of two maps, syncing now and then in random pairs. */
function writtenByThree(seed: number): Y.Doc {
  const random = mulberry32(seed)
  const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  for (let step = 0; step < 400; step++) {
    const doc = pick(docs)
    const key = `k${Math.floor(random() * 25)}`
    const roll = random()
    const entries = doc.getMap<unknown>('entries')
    if (roll < 0.55) entries.set(key, { step, text: `value ${step}` })
    else if (roll < 0.7) entries.delete(key)
    else if (roll < 0.8) {
      const nested = new Y.Map<unknown>()
      entries.set(key, nested)
      nested.set('inner', step)
    } else if (roll < 0.9) {
      const nested = entries.get(key)
      if (nested instanceof Y.Map) nested.set(`f${step % 3}`, step)
      else doc.getMap<unknown>('edits').set(`${key}/text`, `edit ${step}`)
    } else {
      const other = pick(docs)
      if (other !== doc) Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)))
    }
  }
  const [a, b, c] = docs as [Y.Doc, Y.Doc, Y.Doc]
  for (const from of [b, c]) Y.applyUpdate(a, Y.encodeStateAsUpdate(from, Y.encodeStateVector(a)))
  return a
}

const base = process.env.SNAPSHOT_SEED === undefined ? 7_000 : Number(process.env.SNAPSHOT_SEED)
const count = process.env.SNAPSHOT_SEED === undefined ? 25 : 1

describe('snapshot pieces', () => {
  it('rebuilds the same document, each piece applying in full on the ones before it', () => {
    for (let seed = base; seed < base + count; seed++) {
      const doc = writtenByThree(seed)
      const pieces = encodeSnapshotPieces(doc, 7)
      expect(pieces.length, `seed ${seed}`).toBeGreaterThan(3)
      const fresh = new Y.Doc()
      for (const [i, piece] of pieces.entries()) {
        Y.applyUpdate(fresh, piece)
        expect(fresh.store.pendingStructs, `seed ${seed}, piece ${i}: a piece waited on a later one`).toBeNull()
        expect(fresh.store.pendingDs, `seed ${seed}, piece ${i}`).toBeNull()
      }
      // Same structs and deletions (Yjs may merge adjacent deleted structs differently, so not the same bytes).
      expect(Y.equalSnapshots(Y.snapshot(fresh), Y.snapshot(doc)), `seed ${seed}`).toBe(true)
      expect(fresh.getMap('entries').toJSON(), `seed ${seed}`).toEqual(doc.getMap('entries').toJSON())
      expect(fresh.getMap('edits').toJSON(), `seed ${seed}`).toEqual(doc.getMap('edits').toJSON())
    }
  })

  it('makes one piece of an empty document, which applies to nothing', () => {
    const pieces = encodeSnapshotPieces(new Y.Doc())
    expect(pieces).toHaveLength(1)
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, pieces[0] as Uint8Array)
    expect(Y.encodeStateVector(fresh)).toEqual(Y.encodeStateVector(new Y.Doc()))
  })
})
