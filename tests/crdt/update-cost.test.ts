/**
 * The cost estimate (update-cost.ts) and the sliced apply (remote-apply.ts, documents.ts):
 * costly updates are refused before anything is applied, legitimate large ones estimate near
 * zero and apply in slices with turns given up between them, local writes between two
 * slices are committed by the group commit of their turn, and the log replays to the same state.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import * as Y from 'yjs'
import { concurrentInserts, itemOf, keyFlood } from '../../bench/hostile-updates.js'
import { createDocumentStore, type DocumentStore } from '../../crdt/document-store.js'
import { createDocuments, type DocumentUpdate, type Documents } from '../../crdt/documents.js'
import { DocumentsClosedError, SyncUpdateRejectedError } from '../../crdt/errors.js'
import { MEMORY_SCHEMA, createMemoryModel } from '../../crdt/memory-model.js'
import { createRemoteApplier, type RemoteApplyOptions } from '../../crdt/remote-apply.js'
import { createSqliteDocumentStorage } from '../../crdt/sqlite-document-storage.js'
import { openStateDb } from '../../crdt/state-db.js'
import { estimateCost } from '../../crdt/update-cost.js'
import { readUpdate } from '../../crdt/update-decoder.js'
import { planUpdate } from '../../crdt/update-schema.js'
import { generateMeshKey } from '../../identity/index.js'
import { createSystemClock, silentLogger, type Clock } from '../../runtime/index.js'
import { tempDir } from '../support/temp-dir.js'

const NOW = Date.UTC(2030, 0, 1)
const LIMITS = { maxStructs: 2_000_000, maxDeleteRanges: 1_000_000, maxConflictSteps: 2_000_000, maxItemSteps: 100_000, maxDeleteSteps: 4_000_000 }

function drain<T>(g: Generator<void, T>): T {
  for (;;) {
    const step = g.next()
    if (step.done === true) return step.value
  }
}

function estimate(doc: Y.Doc, update: Uint8Array): number {
  const plan = drain(planUpdate(doc, drain(readUpdate(update, LIMITS)), MEMORY_SCHEMA))
  return drain(estimateCost(doc, plan, LIMITS)).conflictSteps
}

/** A memory document of `n` entries written by the model, as a member holds it. */
function realMemory(n: number): { doc: Y.Doc; ids: string[] } {
  const doc = new Y.Doc()
  const memory = createMemoryModel(doc)
  const ids: string[] = []
  doc.transact(() => {
    for (let i = 0; i < n; i++) ids.push(memory.add({ text: `entry ${i}`, topic: 'notes', author: 'laptop' }, NOW))
  })
  return { doc, ids }
}

function copyOf(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
  return copy
}

let hundredThousand: Uint8Array | null = null
/** 100,000 memory entries written by the model on another machine: the whole document as a step 2. */
function hundredThousandEntries(): Uint8Array {
  if (hundredThousand === null) {
    const { doc } = realMemory(100_000)
    hundredThousand = Y.encodeStateAsUpdate(doc)
  }
  return hundredThousand
}

async function refusal(p: Promise<unknown>): Promise<SyncUpdateRejectedError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(SyncUpdateRejectedError)
    return err as SyncUpdateRejectedError
  }
  throw new Error('expected a refusal')
}

function applier(options: Partial<RemoteApplyOptions> = {}, clock: Clock = createSystemClock(), pause: () => Promise<void> = () => Promise.resolve()) {
  return createRemoteApplier({ clock, pause }, options)
}

describe('the cost estimate', () => {
  it('refuses 60,000 concurrent inserts after an entry of a 17,000-entry document as too-costly, applying none', async () => {
    const { doc, ids } = realMemory(17_000)
    const attack = concurrentInserts(itemOf(doc, 'entries', ids[100] as string), 60_000, 'value')
    const before = Y.encodeStateVector(doc)
    let updates = 0
    doc.on('update', () => updates++)
    const err = await refusal(applier().apply(doc, MEMORY_SCHEMA, attack, 'peer', () => false))
    expect(err.reason).toBe('too-costly')
    expect(Y.encodeStateVector(doc)).toEqual(before)
    expect(updates).toBe(0)
    expect(createMemoryModel(doc).get(ids[100] as string)?.text).toBe('entry 100')
  })

  it('refuses a flood of concurrent sets of one key without origin as too-costly', async () => {
    const { doc, ids } = realMemory(1000)
    const err = await refusal(applier().apply(doc, MEMORY_SCHEMA, keyFlood('entries', ids[0] as string, 20_000), 'peer', () => false))
    expect(err.reason).toBe('too-costly')
  })

  it('refuses a flood that grows one key a little per update once the key chain in the document is long', async () => {
    const { doc, ids } = realMemory(10)
    const key = ids[0] as string
    const a = applier({ maxItemSteps: 5_000 })
    // Each update alone is cheap; together they build a chain every later one must walk.
    let refused: SyncUpdateRejectedError | null = null
    for (let round = 0; round < 40 && refused === null; round++) {
      try {
        await a.apply(doc, MEMORY_SCHEMA, rebase(keyFlood('entries', key, 500), round), 'peer', () => false)
      } catch (err) {
        refused = err as SyncUpdateRejectedError
      }
    }
    expect(refused?.reason).toBe('too-costly')
  })

  it('estimates nothing for 100,000 new entries, and little for two machines that overwrote one key 1,000 times each', () => {
    expect(estimate(new Y.Doc(), hundredThousandEntries())).toBe(0)
    const { doc: base, ids } = realMemory(1)
    const a = copyOf(base)
    const b = copyOf(base)
    const id = ids[0] as string
    for (let i = 0; i < 1000; i++) createMemoryModel(a).update(id, { text: `a ${i}` }, NOW + i)
    for (let i = 0; i < 1000; i++) createMemoryModel(b).update(id, { text: `b ${i}` }, NOW + i)
    const steps = estimate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
    expect(steps).toBeLessThan(10_000)
  })
})

/** The same flood under other client ids (each round a fresh set of writers). */
function rebase(update: Uint8Array, round: number): Uint8Array {
  const decoded = Y.decodeUpdate(update)
  const encoder = new Y.UpdateEncoderV1()
  encoder.writeLen(decoded.structs.length)
  for (const s of decoded.structs as Y.Item[]) {
    const item = new Y.Item(Y.createID(s.id.client - round * 100_000, 0), null, null, null, null, s.parent as never, s.parentSub, s.content)
    encoder.writeLen(1)
    encoder.writeClient(item.id.client)
    encoder.writeLen(0)
    item.write(encoder, 0)
  }
  encoder.writeLen(0)
  return encoder.toUint8Array()
}

const MESH_KEY = generateMeshKey(1)

interface Node {
  documents: Documents
  store: DocumentStore
  seen: DocumentUpdate[]
}

function openDocuments(path: string, pause?: () => Promise<void>, options: Partial<RemoteApplyOptions> = {}): Node {
  const state = openStateDb(path, 1_000)
  const key = MESH_KEY
  const store = createDocumentStore({ storage: createSqliteDocumentStorage(state), meshId: 'mesh-test', currentKey: () => key, keyFor: (e) => (e === 1 ? key : undefined) })
  const documents = createDocuments({ store, logger: silentLogger, clock: createSystemClock(), ...(pause === undefined ? {} : { pause }) }, { remote: options })
  onTestFinished(() => {
    documents.close()
    state.close()
  })
  const seen: DocumentUpdate[] = []
  documents.onUpdate((u) => seen.push(u))
  return { documents, store, seen }
}

describe('the sliced apply', () => {
  it('applies a 100,000-entry update in slices and gives up the turn between them', { timeout: 120_000 }, async () => {
    const sizes: number[] = []
    let node: Node | null = null
    const pause = (): Promise<void> => {
      sizes.push(node?.documents.doc('memory').getMap('entries').size ?? -1)
      return new Promise((resolve) => setImmediate(resolve))
    }
    node = openDocuments(`${tempDir()}/state.db`, pause)
    await node.documents.applyRemote('memory', hundredThousandEntries(), 'peer-a')
    expect(createMemoryModel(node.documents.doc('memory')).size()).toBe(100_000)
    // The turn was given up while the entries went in, not only before or after.
    expect(sizes.some((n) => n > 0 && n < 100_000)).toBe(true)
    expect(node.seen.length).toBeGreaterThan(1)
    expect(node.seen.every((u) => u.from === 'peer-a')).toBe(true)
  })

  it('commits a local write made between two slices before the apply ends, keeps both, and the log replays to the same state', { timeout: 120_000 }, async () => {
    const path = `${tempDir()}/state.db`
    let node: Node | null = null
    let local: string | null = null
    let applied = false
    let acked: Promise<{ duringApply: boolean; rows: number }> | null = null
    const pause = (): Promise<void> => {
      const n = node as Node
      const entries = n.documents.doc('memory').getMap('entries').size
      if (local === null && entries > 0) {
        const before = n.store.lastSeq('memory')
        local = createMemoryModel(n.documents.doc('memory')).add({ text: 'written between two slices', topic: 'local', author: 'laptop' }, NOW)
        // Acknowledged by the group commit of this turn, not held back until the apply ends.
        acked = n.documents.committed().then(() => ({ duringApply: !applied, rows: n.store.lastSeq('memory') - before }))
      }
      return new Promise((resolve) => setImmediate(resolve))
    }
    node = openDocuments(path, pause)
    await node.documents.applyRemote('memory', hundredThousandEntries(), 'peer-a')
    applied = true
    expect(local).not.toBeNull()
    expect(await acked).toEqual({ duringApply: true, rows: 1 })
    const memory = createMemoryModel(node.documents.doc('memory'))
    expect(memory.size()).toBe(100_001)
    expect(node.seen.filter((u) => u.from === null)).toHaveLength(1)
    const vector = Y.encodeStateVector(node.documents.doc('memory'))
    node.documents.close()
    const again = openDocuments(path)
    await again.documents.load()
    expect(Y.encodeStateVector(again.documents.doc('memory'))).toEqual(vector)
    expect(createMemoryModel(again.documents.doc('memory')).get(local as unknown as string)?.text).toBe('written between two slices')
    expect(createMemoryModel(again.documents.doc('memory')).size()).toBe(100_001)
  })

  it('applies remote updates of one document one after the other, in the order handed in', async () => {
    const source = new Y.Doc()
    const model = createMemoryModel(source)
    const made: Uint8Array[] = []
    source.on('update', (u: Uint8Array) => made.push(u))
    for (let i = 0; i < 20; i++) model.add({ text: `e ${i}`, topic: 't', author: 'laptop' }, NOW)
    const node = openDocuments(`${tempDir()}/state.db`, () => new Promise((resolve) => setImmediate(resolve)))
    // Each depends on the one before: applied out of order, all but the first would be refused.
    await Promise.all(made.map((u) => node.documents.applyRemote('memory', u, 'peer-a')))
    expect(createMemoryModel(node.documents.doc('memory')).size()).toBe(20)
  })

  it('stops between two slices once over its work-time budget, keeps what it applied, and refuses as too-costly', async () => {
    // A clock that moves 5 ms each time it is read once the first slice is in: the budget
    // runs out a few slices later.
    let now = 0
    let sliced = false
    const clock: Clock = { ...createSystemClock(), now: () => (sliced ? (now += 5) : now) }
    const doc = new Y.Doc()
    doc.on('update', () => {
      sliced = true
    })
    const err = await refusal(applier({ maxApplyMs: 100, sliceMs: 5, turnMs: 10 }, clock).apply(doc, MEMORY_SCHEMA, hundredThousandEntries(), 'peer', () => false))
    expect(err.reason).toBe('too-costly')
    const size = doc.getMap('entries').size
    expect(size).toBeGreaterThan(0)
    expect(size).toBeLessThan(100_000)
    expect(doc.store.pendingStructs).toBeNull()
  })

  it('rejects with DocumentsClosedError when the documents close while an update is applied', async () => {
    let node: Node | null = null
    node = openDocuments(`${tempDir()}/state.db`, () => {
      node?.documents.close()
      return Promise.resolve()
    })
    await expect(node.documents.applyRemote('memory', hundredThousandEntries(), 'peer-a')).rejects.toBeInstanceOf(DocumentsClosedError)
  })
})
