/**
 * The documents' group commit and sliced load (documents.ts) on a real SQLite file: the
 * writes of one turn share one transaction and one acknowledgement, nothing is acknowledged
 * before its transaction commits, a failed commit is not acknowledged and is stored by the
 * next one, and a large state loads in slices with the turn given up between them.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as Y from 'yjs'
import { createDocumentStore, type DocumentStore } from '../../crdt/document-store.js'
import { createDocuments, type DocumentUpdate, type Documents, type DocumentsDeps, type DocumentsOptions } from '../../crdt/documents.js'
import { StateCommitFailedError } from '../../crdt/errors.js'
import { createMemoryModel, type MemoryModel } from '../../crdt/memory-model.js'
import { createSqliteDocumentStorage } from '../../crdt/sqlite-document-storage.js'
import { openStateDb, type StateDb } from '../../crdt/state-db.js'
import { generateMeshKey } from '../../identity/index.js'
import { createSystemClock } from '../../runtime/index.js'
import { recordingLogger, type RecordingLogger } from '../support/recording-logger.js'
import { tempDir } from '../support/temp-dir.js'

const KEY = generateMeshKey(1)
const NOW = Date.UTC(2030, 0, 1)

interface Node {
  state: StateDb
  store: DocumentStore
  documents: Documents
  memory: MemoryModel
  logger: RecordingLogger
  seen: DocumentUpdate[]
}

function open(path: string, extra: Partial<DocumentsDeps> = {}, options: DocumentsOptions = {}): Node {
  const state = openStateDb(path, 1_000)
  const store = createDocumentStore({ storage: createSqliteDocumentStorage(state), meshId: 'mesh-test', currentKey: () => KEY, keyFor: (e) => (e === 1 ? KEY : undefined) })
  const logger = recordingLogger()
  const documents = createDocuments({ store, logger, clock: createSystemClock(), ...extra }, options)
  onTestFinished(() => {
    documents.close()
    state.close()
  })
  const seen: DocumentUpdate[] = []
  documents.onUpdate((u) => seen.push(u))
  return { state, store, documents, memory: createMemoryModel(documents.doc('memory')), logger, seen }
}

/** A `defer` port the test runs by hand: the group commit happens only when told. */
function manualDefer(): { defer: (fn: () => void) => void; run(): void; armed(): number } {
  const due: Array<() => void> = []
  return {
    defer: (fn) => void due.push(fn),
    run: () => {
      for (const fn of due.splice(0)) fn()
    },
    armed: () => due.length,
  }
}

/** What another connection sees in state.db: committed rows only. */
function committedRows(path: string): Array<{ doc: string; updates: number }> {
  const reader = new Database(path, { readonly: true })
  try {
    return reader.prepare('SELECT doc, updates FROM doc_updates ORDER BY seq').all() as Array<{ doc: string; updates: number }>
  } finally {
    reader.close()
  }
}

/** Entries a fresh load of the file holds (as a restart after a kill would see them). */
async function entriesAfterRestart(path: string): Promise<string[]> {
  const again = open(path)
  await again.documents.load()
  return again.memory.ids().sort()
}

describe('group commit', () => {
  it('commits the writes of one turn in one transaction and acknowledges them together, and each is there after a restart', async () => {
    const path = join(tempDir(), 'state.db')
    const turn = manualDefer()
    const node = open(path, { defer: turn.defer })
    const ids: string[] = []
    const acks: Array<Promise<void>> = []
    let acknowledged = 0
    for (let i = 0; i < 50; i++) {
      ids.push(node.memory.add({ text: `entry ${i}`, topic: 'burst', author: 'laptop' }, NOW))
      acks.push(node.documents.committed().then(() => void acknowledged++))
    }
    await Promise.resolve()
    // Nothing is acknowledged, and nothing is in state.db, before the commit runs.
    expect(acknowledged).toBe(0)
    expect(committedRows(path)).toEqual([])
    expect(turn.armed()).toBe(1)
    turn.run()
    await Promise.all(acks)
    expect(acknowledged).toBe(50)
    // One row, sealed once, holds the 50 updates of the group.
    expect(committedRows(path)).toEqual([{ doc: 'memory', updates: 50 }])
    expect(await entriesAfterRestart(path)).toEqual([...ids].sort())
  })

  it('passes a group to the listeners only once it is committed, the local writes of each document as one update', async () => {
    const turn = manualDefer()
    const node = open(join(tempDir(), 'state.db'), { defer: turn.defer })
    const first = node.memory.add({ text: 'one', topic: 't', author: 'laptop' }, NOW)
    node.memory.add({ text: 'two', topic: 't', author: 'laptop' }, NOW)
    node.memory.forget(first)
    node.documents.doc('jobs').getMap('jobs').set('j', { cron: '0 9 * * *' })
    expect(node.seen).toEqual([])
    turn.run()
    expect(node.seen.map((u) => [u.doc, u.from, u.deletes])).toEqual([
      ['memory', null, true],
      ['jobs', null, false],
    ])
    // What a peer is sent makes the same documents.
    for (const u of node.seen) {
      const copy = new Y.Doc()
      Y.applyUpdate(copy, u.update)
      expect(Y.equalSnapshots(Y.snapshot(copy), Y.snapshot(node.documents.doc(u.doc)))).toBe(true)
    }
  })

  it('answers committed() at once when nothing waits', async () => {
    const turn = manualDefer()
    const node = open(join(tempDir(), 'state.db'), { defer: turn.defer })
    await node.documents.committed()
    expect(turn.armed()).toBe(0)
  })

  it('does not acknowledge a group whose commit fails, and stores it with the next commit that succeeds', async () => {
    const path = join(tempDir(), 'state.db')
    const turn = manualDefer()
    const node = open(path, { defer: turn.defer })
    node.state.db.exec(`
      CREATE TEMP TRIGGER refuse_all BEFORE INSERT ON main.doc_updates
      BEGIN SELECT RAISE(ABORT, 'disk full, says the test'); END;
    `)
    const lost = node.memory.add({ text: 'first try fails', topic: 't', author: 'laptop' }, NOW)
    const failed = node.documents.committed()
    turn.run()
    await expect(failed).rejects.toBeInstanceOf(StateCommitFailedError)
    await expect(failed).rejects.toMatchObject({ code: 'STATE_COMMIT_FAILED', updates: 1 })
    expect(node.logger.codes()).toContain('STATE_COMMIT_FAILED')
    expect(committedRows(path)).toEqual([])
    expect(node.seen).toEqual([])

    node.state.db.exec('DROP TRIGGER refuse_all')
    const next = node.memory.add({ text: 'second write', topic: 't', author: 'laptop' }, NOW)
    const ok = node.documents.committed()
    turn.run()
    await ok
    expect(committedRows(path)).toEqual([{ doc: 'memory', updates: 2 }])
    expect(node.seen.map((u) => u.doc)).toEqual(['memory'])
    expect(await entriesAfterRestart(path)).toEqual([lost, next].sort())
  })

  it('commits what is queued when closed, and refuses an acknowledgement after', async () => {
    const path = join(tempDir(), 'state.db')
    const turn = manualDefer()
    const node = open(path, { defer: turn.defer })
    const id = node.memory.add({ text: 'written just before the stop', topic: 't', author: 'laptop' }, NOW)
    const ack = node.documents.committed()
    node.documents.close()
    await ack
    expect(committedRows(path)).toEqual([{ doc: 'memory', updates: 1 }])
    expect(await entriesAfterRestart(path)).toEqual([id])
  })

  it('shares one commit among writes made in one turn with the default defer, and gives each its own across turns', async () => {
    const path = join(tempDir(), 'state.db')
    const node = open(path)
    for (let i = 0; i < 10; i++) node.memory.add({ text: `same turn ${i}`, topic: 't', author: 'laptop' }, NOW)
    await node.documents.committed()
    for (let i = 0; i < 3; i++) {
      node.memory.add({ text: `own turn ${i}`, topic: 't', author: 'laptop' }, NOW)
      await node.documents.committed()
    }
    expect(committedRows(path).map((r) => r.updates)).toEqual([10, 1, 1, 1])
  })
})

describe('the sliced load', () => {
  it('loads a large document from snapshot pieces and log rows, giving up the turn between slices', { timeout: 120_000 }, async () => {
    const path = join(tempDir(), 'state.db')
    const writer = open(path, {}, { compactAfter: 10 })
    await writer.documents.load()
    // 30,000 entries, 1,000 to an update: compaction writes a snapshot of pieces, rows follow it.
    for (let g = 0; g < 30; g++) {
      writer.documents.doc('memory').transact(() => {
        for (let i = 0; i < 1000; i++) writer.memory.add({ text: `entry ${g}-${i}`, topic: 'bulk', author: 'laptop' }, NOW)
      })
      await writer.documents.committed()
    }
    for (let i = 0; i < 300; i++) {
      writer.memory.add({ text: `late ${i}`, topic: 'late', author: 'laptop' }, NOW)
      await writer.documents.committed()
    }
    const snapshot = writer.store.openSnapshot('memory')
    expect(snapshot.pieces.length).toBeGreaterThan(1)
    const inSnapshot = new Y.Doc()
    for (const piece of snapshot.pieces) Y.applyUpdate(inSnapshot, piece)
    const snapshotEntries = inSnapshot.getMap('entries').size
    expect(snapshotEntries).toBeLessThan(30_300)
    const vector = Y.encodeStateVector(writer.documents.doc('memory'))
    writer.documents.close()

    const sizes: number[] = []
    let reader: Node | null = null
    reader = open(path, {
      pause: () => {
        sizes.push(reader?.documents.doc('memory').getMap('entries').size ?? -1)
        return new Promise((resolve) => setImmediate(resolve))
      },
    }, { loadTurnMs: 1 })
    expect(reader.documents.loaded()).toBe(false)
    await reader.documents.load()
    expect(reader.documents.loaded()).toBe(true)
    expect(Y.encodeStateVector(reader.documents.doc('memory'))).toEqual(vector)
    expect(reader.memory.size()).toBe(30_300)
    expect(reader.documents.doc('memory').store.pendingStructs).toBeNull()
    // The turn was given up while the snapshot's pieces went in, and again while the rows did.
    expect(sizes.some((n) => n > 0 && n < snapshotEntries)).toBe(true)
    expect(sizes.some((n) => n > snapshotEntries && n < 30_300)).toBe(true)
    expect(reader.logger.codes()).toEqual([])
  })

  it('applies a remote update only after the load has ended', async () => {
    const path = join(tempDir(), 'state.db')
    const writer = open(path)
    const id = writer.memory.add({ text: 'stored before', topic: 't', author: 'laptop' }, NOW)
    await writer.documents.committed()
    writer.documents.close()

    const source = new Y.Doc()
    const remoteId = createMemoryModel(source).add({ text: 'from a peer', topic: 't', author: 'desktop' }, NOW)
    const reader = open(path)
    await reader.documents.applyRemote('memory', Y.encodeStateAsUpdate(source), 'peer-b')
    expect(reader.documents.loaded()).toBe(true)
    expect(reader.memory.ids().sort()).toEqual([id, remoteId].sort())
    expect(committedRows(path).map((r) => r.doc)).toEqual(['memory', 'memory'])
  })
})
