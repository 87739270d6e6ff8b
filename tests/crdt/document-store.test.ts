import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as Y from 'yjs'
import { createDocumentStore, type DocumentStore, type DocumentStoreOptions } from '../../crdt/document-store.js'
import { SyncUpdateRejectedError } from '../../crdt/errors.js'
import { openUpdate, type DocName } from '../../crdt/sealed-update.js'
import { createSqliteDocumentStorage } from '../../crdt/sqlite-document-storage.js'
import { openStateDb, type StateDb } from '../../crdt/state-db.js'
import { generateMeshKey, type MeshKey } from '../../identity/index.js'
import { tempDir } from '../support/temp-dir.js'

const MESH = 'mesh-k7qm3x2a'
const SECRET_TEXT = 'plaintext-canary-7f3a9c: the vault code is 4417'

/** A keyring the test can rotate: `current` seals, `held` open. */
interface Keyring {
  current: MeshKey
  held: MeshKey[]
}

function openStore(path: string, ring: Keyring, options?: DocumentStoreOptions): { state: StateDb; store: DocumentStore } {
  const state = openStateDb(path, 1_000)
  onTestFinished(() => state.close())
  const store = createDocumentStore(
    {
      storage: createSqliteDocumentStorage(state),
      meshId: MESH,
      currentKey: () => ring.current,
      keyFor: (epoch) => ring.held.find((k) => k.epoch === epoch),
    },
    options,
  )
  return { state, store }
}

function freshRing(): Keyring {
  const key = generateMeshKey(1)
  return { current: key, held: [key] }
}

/** A Y.Doc whose every local change is appended to the store, as the node will wire it. */
function trackedDoc(store: DocumentStore, doc: DocName): { ydoc: Y.Doc; seqs: number[] } {
  const ydoc = new Y.Doc()
  const seqs: number[] = []
  ydoc.on('update', (update: Uint8Array) => seqs.push(store.append(doc, update)))
  return { ydoc, seqs }
}

function rebuild(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

/** The content of every root type of `like`, read from `doc` (a rebuilt doc defines no types until asked). */
function contentOf(doc: Y.Doc, like: Y.Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, type] of like.share) {
    out[name] = doc.get(name, type.constructor as new () => Y.AbstractType<unknown>).toJSON()
  }
  return out
}

/** The updates rebuild a document with the same content as `like`. */
function expectContent(updates: Uint8Array[], like: Y.Doc): void {
  expect(contentOf(rebuild(updates), like)).toEqual(contentOf(like, like))
}

function rawBlobs(state: StateDb): Array<{ table: string; doc: string; sealed: Buffer }> {
  const rows = state.db.prepare("SELECT 'doc_updates' AS \"table\", doc, sealed FROM doc_updates").all() as Array<{ table: string; doc: string; sealed: Buffer }>
  const snaps = state.db.prepare("SELECT 'doc_snapshots' AS \"table\", doc, sealed FROM doc_snapshots").all() as Array<{ table: string; doc: string; sealed: Buffer }>
  return [...rows, ...snaps]
}

describe('document store', () => {
  it('loads back the real Yjs updates it appended, in order', () => {
    const { store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc, seqs } = trackedDoc(store, 'memory')
    ydoc.getMap('entries').set('one', 'first')
    ydoc.getArray('log').push(['a', 'b'])
    ydoc.getMap('entries').set('two', { nested: true })
    ydoc.getMap('entries').delete('one')

    expect(seqs).toHaveLength(4)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    const { updates, refused } = store.load('memory')
    expect(refused).toEqual([])
    expect(updates).toHaveLength(4)
    expectContent(updates, ydoc)
    expect(store.load('jobs')).toEqual({ updates: [], refused: [] })
    expect(store.pending('memory')).toBe(4)
    expect(store.lastSeq('memory')).toBe(seqs.at(-1))
    expect(store.lastSeq('jobs')).toBe(0)
  })

  it('never writes plaintext to the tables', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc } = trackedDoc(store, 'secrets')
    ydoc.getMap('secrets').set('vault', SECRET_TEXT)
    ydoc.getText('notes').insert(0, SECRET_TEXT)
    store.compact('secrets', Y.encodeStateAsUpdate(ydoc), store.lastSeq('secrets') - 1)

    const canary = Buffer.from('plaintext-canary-7f3a9c')
    const blobs = rawBlobs(state)
    expect(blobs.map((b) => b.table).sort()).toEqual(['doc_snapshots', 'doc_updates'])
    for (const blob of blobs) expect(blob.sealed.includes(canary)).toBe(false)
    // The canary is there to be found: the update that carries it does contain it.
    expect(Buffer.from(Y.encodeStateAsUpdate(ydoc)).includes(canary)).toBe(true)
  })

  it('keeps every acknowledged append across a crash (closed without compacting, reopened)', () => {
    const path = join(tempDir(), 'state.db')
    const ring = freshRing()
    const first = openStore(path, ring)
    const { ydoc } = trackedDoc(first.store, 'jobs')
    for (let i = 0; i < 25; i++) ydoc.getMap('jobs').set(`job-${i}`, { cron: `*/${i + 1} * * * *` })
    first.store.append('channels', Y.encodeStateAsUpdate(new Y.Doc()))
    first.state.db.close() // no compaction and no store shutdown: only what was committed survives

    const second = openStore(path, ring)
    const { updates, refused } = second.store.load('jobs')
    expect(refused).toEqual([])
    expect(updates).toHaveLength(25)
    expectContent(updates, ydoc)
    expect(second.store.load('channels').updates).toHaveLength(1)
  })

  it('compacts into a snapshot that loads to the same content, leaving only rows after uptoSeq', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc, seqs } = trackedDoc(store, 'memory')
    for (let i = 0; i < 10; i++) ydoc.getArray('entries').push([`entry ${i}`])
    const other = store.append('relationships', Y.encodeStateAsUpdate(new Y.Doc()))

    const uptoSeq = seqs[5] as number
    store.compact('memory', Y.encodeStateAsUpdate(ydoc), uptoSeq)

    const left = state.db.prepare("SELECT seq FROM doc_updates WHERE doc = 'memory' ORDER BY seq").all() as Array<{ seq: number }>
    expect(left.map((r) => r.seq)).toEqual(seqs.slice(6))
    expect(store.pending('memory')).toBe(4)
    expect(store.lastSeq('memory')).toBe(seqs.at(-1))
    expect(store.load('relationships').updates).toHaveLength(1)
    expect(other).toBeGreaterThan(seqs.at(-1) as number)

    const { updates, refused } = store.load('memory')
    expect(refused).toEqual([])
    expect(updates).toHaveLength(5)
    expectContent(updates, ydoc)
  })

  it('keeps lastSeq once compaction has deleted every row', () => {
    const { store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc } = trackedDoc(store, 'channels')
    ydoc.getMap('offsets').set('telegram', 1234)
    const last = store.lastSeq('channels')
    store.compact('channels', Y.encodeStateAsUpdate(ydoc), last)
    expect(store.pending('channels')).toBe(0)
    expect(store.lastSeq('channels')).toBe(last)
    expect(rebuild(store.load('channels').updates).getMap('offsets').get('telegram')).toBe(1234)
  })

  it('refuses to compact a state that is not a Yjs update, or past lastSeq, and deletes nothing', () => {
    const { store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc } = trackedDoc(store, 'memory')
    ydoc.getMap('m').set('k', 'v')
    const last = store.lastSeq('memory')
    expect(() => store.compact('memory', new TextEncoder().encode('not an update'), last)).toThrowError(
      expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'state' }),
    )
    expect(() => store.compact('memory', Y.encodeStateAsUpdate(ydoc), last + 1)).toThrowError(
      expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'uptoSeq' }),
    )
    expect(store.pending('memory')).toBe(1)
    expect(rebuild(store.load('memory').updates).getMap('m').get('k')).toBe('v')
  })

  it('refuses to compact when keyFor cannot open what currentKey seals, and deletes nothing', () => {
    const ring = freshRing()
    const { store } = openStore(join(tempDir(), 'state.db'), ring)
    const { ydoc } = trackedDoc(store, 'memory')
    ydoc.getMap('m').set('k', 'v')
    ring.current = generateMeshKey(2) // rotated, but the new key never reached keyFor
    expect(() => store.compact('memory', Y.encodeStateAsUpdate(ydoc), store.lastSeq('memory'))).toThrowError(
      expect.objectContaining({ code: 'SYNC_UPDATE_REJECTED', reason: 'unknown-epoch', epoch: 2 }),
    )
    expect(store.pending('memory')).toBe(1)
    expectContent(store.load('memory').updates, ydoc)
  })

  it('folds the log into a snapshot on load once compactAfter rows are pending', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing(), { compactAfter: 5 })
    const { ydoc, seqs } = trackedDoc(store, 'jobs')
    for (let i = 0; i < 4; i++) ydoc.getMap('jobs').set(`j${i}`, i)
    expect(store.load('jobs').updates).toHaveLength(4)
    ydoc.getMap('jobs').set('j4', 4)

    const { updates, refused } = store.load('jobs')
    expect(refused).toEqual([])
    expect(updates).toHaveLength(1)
    expectContent(updates, ydoc)
    expect(store.pending('jobs')).toBe(0)
    expect(store.lastSeq('jobs')).toBe(seqs.at(-1))
    expect((state.db.prepare('SELECT upto_seq FROM doc_snapshots WHERE doc = ?').get('jobs') as { upto_seq: number }).upto_seq).toBe(seqs.at(-1))
    expectContent(store.load('jobs').updates, ydoc)
  })

  it('reports a corrupted row in refused and loads the rest', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc, seqs } = trackedDoc(store, 'memory')
    ydoc.getMap('m').set('a', 1)
    ydoc.getMap('m').set('b', 2)
    ydoc.getMap('m').set('c', 3)
    const bad = seqs[1] as number
    const blob = (state.db.prepare('SELECT sealed FROM doc_updates WHERE seq = ?').get(bad) as { sealed: Buffer }).sealed
    blob[blob.length - 3] = (blob[blob.length - 3] ?? 0) ^ 0xff
    state.db.prepare('UPDATE doc_updates SET sealed = ? WHERE seq = ?').run(blob, bad)

    const { updates, refused } = store.load('memory')
    expect(refused).toEqual([{ seq: bad, code: 'SYNC_UPDATE_REJECTED', reason: 'auth-failed' }])
    expect(updates).toHaveLength(2)
    const doc = rebuild(updates)
    expect(doc.getMap('m').get('a')).toBe(1)
    expect(doc.getMap('m').get('b')).toBeUndefined()
  })

  it('does not auto-compact over a refused row', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing(), { compactAfter: 2 })
    const { ydoc, seqs } = trackedDoc(store, 'memory')
    ydoc.getMap('m').set('a', 1)
    ydoc.getMap('m').set('b', 2)
    state.db.prepare("UPDATE doc_updates SET sealed = X'00' WHERE seq = ?").run(seqs[0])
    expect(store.load('memory').refused).toEqual([{ seq: seqs[0], code: 'SYNC_UPDATE_REJECTED', reason: 'malformed' }])
    expect(store.pending('memory')).toBe(2)
  })

  it('after a key rotation and reseal, loads with only the new key and the old key opens nothing', () => {
    const ring = freshRing()
    const oldKey = ring.current
    const { state, store } = openStore(join(tempDir(), 'state.db'), ring)
    const memory = trackedDoc(store, 'memory')
    for (let i = 0; i < 6; i++) memory.ydoc.getArray('entries').push([`entry ${i}`])
    store.compact('memory', Y.encodeStateAsUpdate(memory.ydoc), memory.seqs[2] as number)
    const jobs = trackedDoc(store, 'jobs')
    jobs.ydoc.getMap('jobs').set('digest', { cron: '0 9 * * *' })

    const newKey = generateMeshKey(2)
    ring.current = newKey
    ring.held = [oldKey, newKey]
    expect(store.reseal()).toBe(5) // 3 memory rows + 1 memory snapshot + 1 jobs row
    expect(store.reseal()).toBe(0)
    ring.held = [newKey]

    const loadedMemory = store.load('memory')
    expect(loadedMemory.refused).toEqual([])
    expectContent(loadedMemory.updates, memory.ydoc)
    expectContent(store.load('jobs').updates, jobs.ydoc)

    const onlyOld = (epoch: number): MeshKey | undefined => (epoch === oldKey.epoch ? oldKey : undefined)
    // Even told that every blob is of the old epoch, the old key authenticates none of them.
    const oldForAny = (): MeshKey => oldKey
    const blobs = rawBlobs(state)
    expect(blobs).toHaveLength(5)
    for (const blob of blobs) {
      for (const keys of [onlyOld, oldForAny]) {
        expect(() => openUpdate(keys, MESH, blob.doc as DocName, blob.sealed)).toThrowError(SyncUpdateRejectedError)
      }
      expect(blob.sealed[4]).toBe(2)
    }
  })

  it('stores nothing of appendMany when a later item fails in the database', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    state.db.exec(`
      CREATE TEMP TRIGGER refuse_jobs BEFORE INSERT ON main.doc_updates WHEN NEW.doc = 'jobs'
      BEGIN SELECT RAISE(ABORT, 'jobs refused by test trigger'); END;
    `)
    const update = Y.encodeStateAsUpdate(new Y.Doc())
    expect(() =>
      store.appendMany([
        { doc: 'memory', update },
        { doc: 'jobs', update },
      ]),
    ).toThrowError(/jobs refused by test trigger/)
    expect(state.db.prepare('SELECT COUNT(*) AS n FROM doc_updates').get()).toEqual({ n: 0 })
    expect(store.lastSeq('memory')).toBe(0)
  })

  it('stores nothing of appendMany when a later item names no document', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const update = Y.encodeStateAsUpdate(new Y.Doc())
    expect(() =>
      store.appendMany([
        { doc: 'memory', update },
        { doc: 'roster' as DocName, update },
      ]),
    ).toThrowError(expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'doc' }))
    expect(state.db.prepare('SELECT COUNT(*) AS n FROM doc_updates').get()).toEqual({ n: 0 })

    store.appendMany([
      { doc: 'memory', update },
      { doc: 'jobs', update },
    ])
    expect([store.pending('memory'), store.pending('jobs')]).toEqual([1, 1])
  })

  it('stores a group of appendMany as one row per document, sealed once, and loads its updates in order', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const memory = new Y.Doc()
    const jobs = new Y.Doc()
    const items: Array<{ doc: DocName; update: Uint8Array }> = []
    memory.on('update', (update: Uint8Array) => items.push({ doc: 'memory', update }))
    jobs.on('update', (update: Uint8Array) => items.push({ doc: 'jobs', update }))
    for (let i = 0; i < 5; i++) memory.getMap('entries').set(`e${i}`, SECRET_TEXT)
    jobs.getMap('jobs').set('digest', { cron: '0 9 * * *' })
    memory.getMap('entries').delete('e0')
    const seqs = store.appendMany(items)
    expect([...seqs.keys()].sort()).toEqual(['jobs', 'memory'])
    const rows = state.db.prepare('SELECT seq, doc, updates FROM doc_updates ORDER BY seq').all()
    expect(rows).toEqual([
      { seq: seqs.get('memory'), doc: 'memory', updates: 6 },
      { seq: seqs.get('jobs'), doc: 'jobs', updates: 1 },
    ])
    for (const blob of rawBlobs(state)) expect(blob.sealed.includes(Buffer.from('plaintext-canary-7f3a9c'))).toBe(false)
    const loaded = store.load('memory')
    expect(loaded.updates).toEqual(items.filter((i) => i.doc === 'memory').map((i) => i.update))
    expectContent(loaded.updates, memory)
    expect(store.pending('memory')).toBe(6)
    expect(store.openRows('memory', 0, 10).rows).toEqual([{ seq: seqs.get('memory'), updates: loaded.updates }])
  })

  it('refuses a packed row whose update count was altered on disk, and loads the rest', () => {
    const { state, store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc, seqs } = trackedDoc(store, 'memory')
    ydoc.getMap('m').set('before', 1)
    const updates: Uint8Array[] = []
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(ydoc))
    other.on('update', (u: Uint8Array) => updates.push(u))
    other.getMap('m').set('x', 1)
    other.getMap('m').set('y', 2)
    const packed = store.appendMany(updates.map((update) => ({ doc: 'memory', update }))).get('memory') as number
    for (const count of [1, 3]) {
      state.db.prepare('UPDATE doc_updates SET updates = ? WHERE seq = ?').run(count, packed)
      const { updates: loaded, refused } = store.load('memory')
      expect(refused).toEqual([{ seq: packed, code: 'SYNC_UPDATE_REJECTED', reason: 'auth-failed' }])
      expect(rebuild(loaded).getMap('m').toJSON()).toEqual({ before: 1 })
    }
    expect(seqs).toHaveLength(1)
  })

  it('re-seals packed rows and a snapshot of pieces under a new key, and they load as before', () => {
    const ring = freshRing()
    const oldKey = ring.current
    const { store } = openStore(join(tempDir(), 'state.db'), ring)
    const ydoc = new Y.Doc()
    const items: Array<{ doc: DocName; update: Uint8Array }> = []
    ydoc.on('update', (update: Uint8Array) => items.push({ doc: 'memory', update }))
    for (let i = 0; i < 4; i++) ydoc.getMap('entries').set(`early ${i}`, i)
    store.appendMany(items.splice(0))
    const piecesOf = (doc: Y.Doc): Uint8Array[] => {
      const all = Y.encodeStateAsUpdate(doc)
      const half = new Y.Doc()
      Y.applyUpdate(half, all)
      return [Y.encodeStateAsUpdate(half), Y.encodeStateAsUpdate(new Y.Doc())]
    }
    store.compact('memory', piecesOf(ydoc), store.lastSeq('memory'))
    for (let i = 0; i < 3; i++) ydoc.getMap('entries').set(`late ${i}`, i)
    store.appendMany(items.splice(0))

    const newKey = generateMeshKey(2)
    ring.current = newKey
    ring.held = [oldKey, newKey]
    expect(store.reseal()).toBe(2)
    ring.held = [newKey]
    const { updates, refused } = store.load('memory')
    expect(refused).toEqual([])
    expect(updates).toHaveLength(2 + 3) // the snapshot's two pieces, then the row's three updates
    expectContent(updates, ydoc)
    expect(store.openSnapshot('memory').pieces).toHaveLength(2)
  })

  it('refuses to compact pieces of which one is not a Yjs update, and deletes nothing', () => {
    const { store } = openStore(join(tempDir(), 'state.db'), freshRing())
    const { ydoc } = trackedDoc(store, 'memory')
    ydoc.getMap('m').set('k', 'v')
    const last = store.lastSeq('memory')
    expect(() => store.compact('memory', [Y.encodeStateAsUpdate(ydoc), new TextEncoder().encode('not an update')], last)).toThrowError(
      expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'state' }),
    )
    expect(() => store.compact('memory', [], last)).toThrowError(expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'state' }))
    expect(store.pending('memory')).toBe(1)
  })
})
