/**
 * The real document stack of a test node (sealed store in a real SQLite file, Yjs documents,
 * the memory model) with its sync engine built here rather than by createAgentState, so a test
 * can choose the engine's clock and options, and stand between the engine and
 * documents.applyRemote: to make an apply take time or refuse an update, as the documents may
 * (sliced apply of large updates, schema and cost checks).
 */
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { createSqliteDocumentStorage, openStateDb, type SyncEngine, type SyncEngineOptions } from '../../crdt/index.js'
import { createDocumentStore } from '../../crdt/document-store.js'
import { createDocuments, type Documents } from '../../crdt/documents.js'
import { createMemoryModel, type MemoryModel } from '../../crdt/memory-model.js'
import { createSyncEngine } from '../../crdt/sync-engine.js'
import { createSystemClock, silentLogger, type Clock, type Logger } from '../../runtime/index.js'
import type { TestNode } from './mesh-nodes.js'
import { tempDir } from './temp-dir.js'

export interface SyncNode {
  documents: Documents
  memory: MemoryModel
  sync: SyncEngine
}

export interface SyncNodeOptions {
  clock?: Clock
  logger?: Logger
  sync?: SyncEngineOptions
  /** Stands in front of the real applyRemote (which it may call, or not). */
  applyRemote?: (real: Documents['applyRemote'], ...args: Parameters<Documents['applyRemote']>) => Promise<void>
}

export async function withSyncEngine(node: TestNode, options: SyncNodeOptions = {}): Promise<SyncNode> {
  const { mesh } = node
  const meshId = mesh.status().meshId
  if (meshId === null) throw new Error('the node is not in a mesh')
  const db = openStateDb(join(tempDir(), 'state.db'), 0)
  const store = createDocumentStore({
    storage: createSqliteDocumentStorage(db),
    meshId,
    currentKey: () => mesh.meshKeys().at(-1) as NonNullable<ReturnType<typeof mesh.meshKeys>[number]>,
    keyFor: (epoch) => mesh.meshKeys().find((k) => k.epoch === epoch),
  })
  const real = createDocuments({ store, logger: silentLogger, clock: options.clock ?? createSystemClock() })
  const wrap = options.applyRemote
  const documents: Documents = wrap === undefined ? real : { ...real, applyRemote: (...args) => wrap(real.applyRemote, ...args) }
  const sync = createSyncEngine({ mesh, documents, clock: options.clock ?? createSystemClock(), logger: options.logger ?? silentLogger, meshId }, options.sync)
  onTestFinished(() => {
    sync.stop()
    real.close()
    db.close()
  })
  await real.load()
  await sync.start()
  return { documents, memory: createMemoryModel(real.doc('memory')), sync }
}
