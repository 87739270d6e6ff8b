/**
 * crdt: the agent's shared state. For now, the node's state database (better-sqlite3 in
 * WAL mode, with a migrations table) and the roster's update log; the Yjs documents, the
 * sealed update log and the sync protocol grow on top of it.
 *
 *   const state = openStateDb(join(home, 'state.db'), clock.now())
 *   state.setMeta('machine', 'laptop')
 *   state.close()
 */
export { openStateDb } from './state-db.js'
export type { AppliedMigration, Durability, StateDb, StateDbOptions } from './state-db.js'
export type { Migration } from './migrations.js'
export { CrdtError, StateDbOpenError, StateDbTooNewError } from './errors.js'
export { createSqliteRosterStore } from './roster-store.js'
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
