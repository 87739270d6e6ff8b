/**
 * The agent's state on one machine, put together: the sealed document store on its storage,
 * the Yjs documents, the typed models on top, the derived memory search index, and the sync
 * engine that keeps it all in step with the other members.
 *
 * A model's write changes its document at once (a read right after sees it) and is committed
 * by group commit (documents.ts): whoever acknowledges a write to someone outside, as the API
 * does, awaits `documents.committed()` first.
 */
import type { MeshKey } from '../identity/index.js'
import { MeshNotMemberError, type Mesh } from '../mesh/index.js'
import type { Clock, Logger } from '../runtime/index.js'
import type { DocumentStorage } from './document-storage.js'
import { createChannelsModel, type ChannelsModel } from './channels-model.js'
import { createConversationsModel, type ConversationsModel } from './conversations-model.js'
import { createDocumentStore } from './document-store.js'
import { createDocuments, type Documents } from './documents.js'
import { createJobsModel, type JobsModel } from './jobs-model.js'
import { createMemoryIndex, type MemoryIndex } from './memory-index.js'
import { createIdentityModel, type IdentityModel } from './identity-model.js'
import { createMemoryModel, type MemoryModel } from './memory-model.js'
import { createRelationshipsModel, type RelationshipsModel } from './relationships-model.js'
import { createSecretsModel, type SecretsModel } from './secrets-model.js'
import { createSyncEngine, type SyncEngine } from './sync-engine.js'

export interface AgentStateDeps {
  mesh: Mesh
  /** Where the sealed documents are kept: createSqliteDocumentStorage(state) in the node. */
  storage: DocumentStorage
  clock: Clock
  logger: Logger
}

export interface AgentState {
  readonly documents: Documents
  readonly memory: MemoryModel
  /** The agent's identity text, in the memory document. */
  readonly identity: IdentityModel
  readonly memoryIndex: MemoryIndex
  readonly relationships: RelationshipsModel
  readonly jobs: JobsModel
  readonly secrets: SecretsModel
  readonly channels: ChannelsModel
  readonly conversations: ConversationsModel
  readonly sync: SyncEngine
  /** Loads the documents (in slices), then starts sync and the background fill of the search index. */
  start(): Promise<void>
  stop(): void
}

/** Needs a machine that is a member (it holds mesh keys); throws MESH_NOT_MEMBER otherwise. */
export function createAgentState(deps: AgentStateDeps, options: { compactAfter?: number } = {}): AgentState {
  const { mesh } = deps
  const meshId = mesh.status().meshId
  if (meshId === null || mesh.meshKeys().length === 0) {
    throw new MeshNotMemberError('the agent state needs a machine that is in a mesh')
  }
  const keyFor = (epoch: number): MeshKey | undefined => mesh.meshKeys().find((k) => k.epoch === epoch)
  const store = createDocumentStore(
    {
      storage: deps.storage,
      meshId,
      currentKey: () => {
        const key = mesh.meshKeys().at(-1)
        if (key === undefined) throw new Error('no mesh key')
        return key
      },
      keyFor,
    },
    // The store's own compaction at load merges updates with Y.mergeUpdates, which is slow for
    // long logs; the documents compact from the loaded Y.Doc instead (createDocuments).
    { compactAfter: Number.MAX_SAFE_INTEGER },
  )
  const documents = createDocuments({ store, logger: deps.logger, clock: deps.clock }, options.compactAfter === undefined ? {} : { compactAfter: options.compactAfter })
  const memory = createMemoryModel(documents.doc('memory'))
  // Filled in the background once started, not here (see memory-index.ts).
  const memoryIndex = createMemoryIndex({ model: memory })
  const sync = createSyncEngine({ mesh, documents, clock: deps.clock, logger: deps.logger, meshId })
  let offKeys: (() => void) | null = null

  return {
    documents,
    memory,
    identity: createIdentityModel(documents.doc('memory')),
    memoryIndex,
    relationships: createRelationshipsModel(documents.doc('relationships')),
    jobs: createJobsModel(documents.doc('jobs')),
    secrets: createSecretsModel(documents.doc('secrets')),
    channels: createChannelsModel(documents.doc('channels')),
    conversations: createConversationsModel(documents.doc('conversations')),
    sync,
    async start() {
      // After a removal rotates the key, re-seal what is on disk so the old key opens nothing.
      offKeys = mesh.on('keys:change', () => {
        const count = store.reseal()
        deps.logger.info({ resealed: count }, 're-sealed stored updates under the new mesh key')
      })
      // In slices, so that a large state does not hold the event loop (a leader's heartbeats).
      await documents.load()
      await sync.start()
      memoryIndex.warm((step) => deps.clock.setTimeout(step, 0))
    },
    stop() {
      offKeys?.()
      sync.stop()
      memoryIndex.close()
      documents.close()
    },
  }
}
