/** Typed errors of the crdt concern. Codes are API: never renamed. */

/** Every code a crdt error carries. */
export const CRDT_ERROR_CODES = [
  'STATE_DB_OPEN_FAILED',
  'STATE_DB_TOO_NEW',
  'STATE_COMMIT_FAILED',
  'SYNC_UPDATE_REJECTED',
  'SYNC_FRAME_MALFORMED',
  'SYNC_FRAME_TOO_LARGE',
  'SYNC_CHUNK_REFUSED',
  'SYNC_FLOW_VIOLATION',
  'SYNC_MESSAGE_TOO_LARGE',
  'SYNC_STREAM_RESET',
  'SYNC_SEND_QUEUE_FULL',
  'SYNC_APPLY_FAILED',
  'SYNC_REFUSED_BY_PEER',
  'SYNC_PEER_BACKED_OFF',
  'SYNC_OPEN_FAILED',
  'CRDT_DOCUMENTS_CLOSED',
  'CRDT_INPUT_INVALID',
  'MEMORY_ENTRY_NOT_FOUND',
  'PERSON_NOT_FOUND',
  'JOB_NOT_FOUND',
  'SECRET_NOT_FOUND',
] as const
export type CrdtErrorCode = (typeof CRDT_ERROR_CODES)[number]

/** The base of every crdt error; only its subclasses are built, one per code. */
export abstract class CrdtError extends Error {
  readonly code: CrdtErrorCode
  constructor(code: CrdtErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The state database could not be opened or is not ours. */
export class StateDbOpenError extends CrdtError {
  readonly path: string
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('STATE_DB_OPEN_FAILED', `cannot open the state database ${path}: ${reason}`, options)
    this.path = path
  }
}

/** The database was written by a newer instar whose migrations this one does not know. */
export class StateDbTooNewError extends CrdtError {
  readonly path: string
  readonly version: number
  constructor(path: string, version: number, known: number) {
    super(
      'STATE_DB_TOO_NEW',
      `the state database ${path} is at schema version ${version}, but this instar knows only up to ${known}; upgrade instar`,
    )
    this.path = path
    this.version = version
  }
}

/**
 * Why a sealed update, or the Yjs update inside it, was refused.
 *   unknown-epoch, auth-failed, malformed, replay, wrong-document: opening the seal (sealed-update.ts).
 *   schema: a shape the document's schema does not allow (an unknown root, a sequence insert,
 *     a nested or text type, a key or value over its bound, ...).
 *   over-limit: more structs, delete ranges or bytes than one update may carry.
 *   too-costly: the estimated conflict-resolution cost against the current document, or the
 *     time the apply took, is over budget.
 *   missing-dependency: the update needs structs this document does not have yet. Not the
 *     peer's fault: a gap that the next step 1/2 exchange repairs (`isBenignRefusal`).
 */
export type SyncUpdateRejectedReason =
  | 'unknown-epoch'
  | 'auth-failed'
  | 'malformed'
  | 'replay'
  | 'wrong-document'
  | 'schema'
  | 'over-limit'
  | 'too-costly'
  | 'missing-dependency'

/** A sealed document update was refused; `reason` says why (see SyncUpdateRejectedReason). */
export class SyncUpdateRejectedError extends CrdtError {
  readonly reason: SyncUpdateRejectedReason
  readonly epoch: number | null
  constructor(reason: SyncUpdateRejectedReason, message: string, options?: { cause?: unknown; epoch?: number }) {
    super('SYNC_UPDATE_REJECTED', `sealed update refused (${reason}): ${message}`, options)
    this.reason = reason
    this.epoch = options?.epoch ?? null
  }
}

/** A refusal that says nothing against the peer that sent the update (a dependency not yet here). */
export function isBenignRefusal(err: unknown): boolean {
  return err instanceof SyncUpdateRejectedError && err.reason === 'missing-dependency'
}

/** The documents were closed while a remote update was being applied; what was applied stays. */
export class DocumentsClosedError extends CrdtError {
  constructor() {
    super('CRDT_DOCUMENTS_CLOSED', 'the documents were closed before the remote update was applied in full')
  }
}

/**
 * A group commit's transaction failed (disk full, I/O error, a locked database): the writes
 * it held are not acknowledged. They stay in the documents and are stored by the next commit
 * that succeeds.
 */
export class StateCommitFailedError extends CrdtError {
  readonly updates: number
  constructor(updates: number, options?: { cause?: unknown }) {
    super('STATE_COMMIT_FAILED', `the state database could not commit ${updates} update(s); the write is not acknowledged`, options)
    this.updates = updates
  }
}

/** A sync frame could not be decoded (bad version, type, length or field). */
export class SyncFrameMalformedError extends CrdtError {
  readonly reason: string
  constructor(reason: string, options?: { cause?: unknown }) {
    super('SYNC_FRAME_MALFORMED', `malformed sync frame: ${reason}`, options)
    this.reason = reason
  }
}

/** A caller passed a value a model refuses (empty text, bad cron expression, ...); `field` names it. */
export class ModelInputInvalidError extends CrdtError {
  readonly field: string
  constructor(field: string, reason: string) {
    super('CRDT_INPUT_INVALID', `${field}: ${reason}`)
    this.field = field
  }
}

/** No memory entry has this id (or it was forgotten). */
export class MemoryEntryNotFoundError extends CrdtError {
  readonly id: string
  constructor(id: string) {
    super('MEMORY_ENTRY_NOT_FOUND', `no memory entry ${id}`)
    this.id = id
  }
}

/** No person matches this id or platform identity. */
export class PersonNotFoundError extends CrdtError {
  readonly query: string
  constructor(query: string) {
    super('PERSON_NOT_FOUND', `no person matches "${query}"`)
    this.query = query
  }
}

/** No job definition has this name. */
export class JobNotFoundError extends CrdtError {
  readonly job: string
  constructor(job: string) {
    super('JOB_NOT_FOUND', `no job named "${job}"`)
    this.job = job
  }
}

/** No secret has this name. */
export class SecretNotFoundError extends CrdtError {
  readonly secret: string
  constructor(secret: string) {
    super('SECRET_NOT_FOUND', `no secret named "${secret}"`)
    this.secret = secret
  }
}

/**
 * A sync frame longer than MAX_SYNC_FRAME reached the stream: it cannot be skipped (its bytes
 * are the rest of the stream), so the stream is reset.
 */
export class SyncFrameTooLargeError extends CrdtError {
  readonly limit: number
  constructor(limit: number, options?: { cause?: unknown }) {
    super('SYNC_FRAME_TOO_LARGE', `a sync frame is longer than the ${limit}-byte limit`, options)
    this.limit = limit
  }
}

/** A chunk of a split step 2 or update broke the reassembly rules; the message it belongs to is dropped. */
export class SyncChunkRefusedError extends CrdtError {
  readonly reason: 'unknown-message' | 'duplicate-message' | 'too-many-messages' | 'too-large' | 'out-of-order' | 'mismatch' | 'overrun' | 'short'
  readonly doc: string
  readonly messageId: number
  constructor(reason: SyncChunkRefusedError['reason'], doc: string, messageId: number, detail: string) {
    super('SYNC_CHUNK_REFUSED', `chunk of message ${messageId} for ${doc} refused (${reason}): ${detail}`)
    this.reason = reason
    this.doc = doc
    this.messageId = messageId
  }
}

/** A peer broke the flow control of a sync stream (wrote past its window, or credited more than was sent). */
export class SyncFlowViolationError extends CrdtError {
  readonly reason: 'window-exceeded' | 'credit-exceeded' | 'wrong-direction'
  constructor(reason: SyncFlowViolationError['reason'], detail: string) {
    super('SYNC_FLOW_VIOLATION', `sync flow control broken (${reason}): ${detail}`)
    this.reason = reason
  }
}

/** A step 2 or update of ours is larger than MAX_SYNC_MESSAGE_BYTES: it cannot be sent. */
export class SyncMessageTooLargeError extends CrdtError {
  readonly doc: string
  readonly bytes: number
  readonly limit: number
  constructor(doc: string, bytes: number, limit: number) {
    super('SYNC_MESSAGE_TOO_LARGE', `a sync message of ${bytes} bytes for ${doc} is over the ${limit}-byte limit`)
    this.doc = doc
    this.bytes = bytes
    this.limit = limit
  }
}

/** A sync stream ended other than by our own choice: reset by the peer, closed under us, or failed. */
export class SyncStreamResetError extends CrdtError {
  readonly peerId: string
  readonly direction: 'inbound' | 'outbound'
  constructor(peerId: string, direction: 'inbound' | 'outbound', detail: string, options?: { cause?: unknown }) {
    super('SYNC_STREAM_RESET', `the ${direction} sync stream with ${peerId} ended: ${detail}`, options)
    this.peerId = peerId
    this.direction = direction
  }
}

/** A peer took so little of what we sent that our queue for it passed its bound; its stream is reset and resynced. */
export class SyncSendQueueFullError extends CrdtError {
  readonly bytes: number
  constructor(bytes: number, limit: number) {
    super('SYNC_SEND_QUEUE_FULL', `${bytes} bytes queued for a peer, over the ${limit}-byte bound`)
    this.bytes = bytes
  }
}

/** Applying an opened, accepted update failed on this machine (not the peer's fault). */
export class SyncApplyFailedError extends CrdtError {
  readonly doc: string
  constructor(doc: string, options?: { cause?: unknown }) {
    super('SYNC_APPLY_FAILED', `applying an update to ${doc} failed`, options)
    this.doc = doc
  }
}

/** A peer told us it refused our step 2 or update for a document (a REFUSED frame). */
export class SyncRefusedByPeerError extends CrdtError {
  readonly doc: string
  readonly peerCode: string
  constructor(doc: string, peerCode: string, reason: string) {
    super('SYNC_REFUSED_BY_PEER', `the peer refused our ${doc} update: ${peerCode}${reason === '' ? '' : ` (${reason})`}`)
    this.doc = doc
    this.peerCode = peerCode
  }
}

/** A peer's updates were refused too often: its sync is off until `until`. */
export class SyncPeerBackedOffError extends CrdtError {
  readonly peerId: string
  readonly until: number
  readonly times: number
  constructor(peerId: string, until: number, times: number, reason: string) {
    super('SYNC_PEER_BACKED_OFF', `sync with ${peerId} is off until ${new Date(until).toISOString()} (backoff ${times}): ${reason}`)
    this.peerId = peerId
    this.until = until
    this.times = times
  }
}

/** Our sync stream to a peer could not be opened after several attempts; the next connection tries again. */
export class SyncOpenFailedError extends CrdtError {
  readonly peerId: string
  constructor(peerId: string, options?: { cause?: unknown }) {
    super('SYNC_OPEN_FAILED', `could not open the sync stream to ${peerId}`, options)
    this.peerId = peerId
  }
}
