/**
 * crdt: the agent's shared state. The node's state database (better-sqlite3 in WAL mode,
 * with migrations), the Yjs documents (memory, relationships, jobs, secrets) with their
 * typed models, the sealed update log and snapshots, the derived memory search index, the
 * sync protocol and engine that keep the members in step over the mesh, and the SQLite
 * roster and term stores the mesh persists through.
 *
 *   const agent = createAgentState({ mesh, state: openStateDb(join(home, 'state.db'), clock.now()), clock, logger })
 *   await agent.start()
 *   agent.memory.add({ text: 'likes tea', topic: 'people', author: 'kira' }, clock.now())
 */
export { openStateDb } from './state-db.js'
export type { AppliedMigration, Durability, StateDb, StateDbOptions } from './state-db.js'
export type { Migration } from './migrations.js'
export { CRDT_ERROR_CODES, CrdtError, StateDbOpenError, StateDbTooNewError } from './errors.js'
export type { CrdtErrorCode } from './errors.js'
export { createSqliteRosterStore } from './roster-store.js'
export { createSqliteDocumentStorage } from './sqlite-document-storage.js'
export { createMemoryDocumentStorage } from './memory-document-storage.js'
export type { DocumentStorage, NewRow, StorageDurability, StoredItem, StoredRow, StoredSnapshot } from './document-storage.js'
export { createDocumentStore } from './document-store.js'
export type { DocumentStore, DocumentStoreDeps, DocumentStoreOptions, RefusedRow } from './document-store.js'
export { createAgentState } from './agent-state.js'
export type { AgentState, AgentStateDeps } from './agent-state.js'
export type { DocSyncState, PeerSyncState, SyncEngine, SyncEngineOptions, SyncFailure } from './sync-engine.js'
export type { SyncBackoffOptions } from './sync-backoff.js'
export type { DocName } from './sealed-update.js'
export { DOC_NAMES, openUpdate, sealUpdate } from './sealed-update.js'
export {
  MAX_SYNC_FRAME,
  MAX_SYNC_MESSAGE_BYTES,
  SYNC_PROTOCOL,
  SYNC_WINDOW_BYTES,
  decodeSyncMessage,
  encodeSyncMessage,
  encodeSyncMessageFrame,
  syncFrameCount,
} from './sync-protocol.js'
export type { MemoryEntry, MemoryModel } from './memory-model.js'
export { IDENTITY_LIMITS, createIdentityModel } from './identity-model.js'
export type { AgentIdentity, IdentityModel } from './identity-model.js'
export type { MemoryIndex, SearchResult } from './memory-index.js'
export { MEMORY_SEARCH_LIMITS } from './memory-index.js'
export type { Person, Platform, PlatformIdentity, RelationshipsModel } from './relationships-model.js'
export type { JobDefinition, JobRun, JobsModel } from './jobs-model.js'
export type { SecretsModel } from './secrets-model.js'
export { createChannelsModel } from './channels-model.js'
export type { ChannelHealth, ChannelSettings, ChannelsModel } from './channels-model.js'
export { createConversationsModel } from './conversations-model.js'
export type {
  Attachment,
  Conversation,
  ConversationChannel,
  ConversationRef,
  ConversationsModel,
  InboundInput,
  InboxState,
  Message,
  OutboxFormat,
  OutboxItem,
  OutboxState,
  StateCounts,
} from './conversations-model.js'
export type { DocumentSchema, MapRootSchema } from './update-schema.js'
export type { SyncUpdateRejectedReason } from './errors.js'
export {
  DocumentsClosedError,
  isBenignRefusal,
  JobNotFoundError,
  MemoryEntryNotFoundError,
  ModelInputInvalidError,
  PersonNotFoundError,
  SecretNotFoundError,
  SyncApplyFailedError,
  SyncChunkRefusedError,
  SyncFlowViolationError,
  SyncFrameMalformedError,
  SyncFrameTooLargeError,
  SyncMessageTooLargeError,
  SyncOpenFailedError,
  SyncPeerBackedOffError,
  SyncRefusedByPeerError,
  SyncSendQueueFullError,
  SyncStreamResetError,
  SyncUpdateRejectedError,
} from './errors.js'
export { createSqliteTermStore } from './term-store.js'
