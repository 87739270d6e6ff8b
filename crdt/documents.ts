/**
 * The agent's documents on this machine: one Y.Doc per document, loaded from the sealed
 * update log, and every later update, local or remote, stored by group commit.
 *
 * Group commit: Yjs reports an update as the write that made it returns; the update is queued,
 * and once this turn of the event loop has run its I/O callbacks (the `defer` port,
 * setImmediate by default) every queued update goes to state.db in one transaction, one row
 * and one seal per document. `committed()` is the acknowledgement: it resolves once every
 * update made before the call is in a committed transaction, so writes that arrive together
 * (the requests read in one turn, a loop of writes, the slices of a remote update applied in
 * one turn) share one commit and one fsync, and "acknowledged means committed" holds for each
 * caller that awaits it before answering. Listeners hear of an update only once it is committed,
 * and of the local writes of one document in a group as one update (group-update.ts).
 * A failed commit rejects the waiting acknowledgements (StateCommitFailedError); its updates
 * stay queued, ahead of the next group, and are stored by the next commit that succeeds.
 *
 * Loading (`load`): the snapshot's pieces (snapshot-pieces.ts) and then the log rows are
 * applied a turn's worth at a time, giving up the turn in between (the `pause` port), so a
 * large state never holds the event loop for long; applyRemote waits for the load to end.
 * Compaction waits for it too: a snapshot of a half-loaded document would delete rows not
 * yet read.
 *
 * A peer's update is checked against the document's schema, its dependencies and its cost
 * before any of it is applied, and applied in slices across turns of the event loop
 * (remote-apply.ts). Remote updates of one document are applied one after the other, in the
 * order they were handed in; local writes go straight in, between two slices if need be:
 * each slice is a transaction of its own, queued and committed like any other update.
 */
import * as Y from 'yjs'
import type { Clock, Logger } from '../runtime/index.js'
import type { DocumentStore, RefusedRow } from './document-store.js'
import { DocumentsClosedError, StateCommitFailedError, SyncUpdateRejectedError } from './errors.js'
import { CHANNELS_SCHEMA } from './channels-model.js'
import { CONVERSATIONS_SCHEMA } from './conversations-model.js'
import { JOBS_SCHEMA } from './jobs-model.js'
import { MEMORY_SCHEMA } from './memory-model.js'
import { RELATIONSHIPS_SCHEMA } from './relationships-model.js'
import { createRemoteApplier, type RemoteApplyOptions } from './remote-apply.js'
import { DOC_NAMES, type DocName } from './sealed-update.js'
import { SECRETS_SCHEMA } from './secrets-model.js'
import { announcedUpdates, type QueuedUpdate } from './group-update.js'
import { encodeSnapshotPieces } from './snapshot-pieces.js'
import type { DocumentSchema } from './update-schema.js'

/** The schema of each document, declared by its model. */
export const DOC_SCHEMAS: Readonly<Record<DocName, DocumentSchema>> = Object.freeze({
  memory: MEMORY_SCHEMA,
  relationships: RELATIONSHIPS_SCHEMA,
  jobs: JOBS_SCHEMA,
  channels: CHANNELS_SCHEMA,
  secrets: SECRETS_SCHEMA,
  conversations: CONVERSATIONS_SCHEMA,
})

/** Origin of a transaction that applies a peer's update: carries the peer id. */
export class RemoteOrigin {
  constructor(readonly peerId: string) {}
}

const LOADING = Symbol('loading')

export interface DocumentUpdate {
  doc: DocName
  update: Uint8Array
  /** The peer the update came from, or null when this machine made it. */
  from: string | null
  /**
   * Per client whose structs the update adds, the clock just past its last one: a peer whose
   * state vector reaches these clocks has every struct of the update.
   */
  reaches: Map<number, number>
  /** The update deletes something (a state vector cannot tell whether a peer has that). */
  deletes: boolean
}

export interface Documents {
  doc(name: DocName): Y.Doc
  /**
   * Loads every document from the store, a turn's worth at a time; resolves once all hold
   * what state.db holds. Idempotent: later calls return the same promise.
   */
  load(): Promise<void>
  /** Whether `load` has ended. */
  loaded(): boolean
  /**
   * The acknowledgement of a write: resolves once every update made before the call is
   * committed (at once when none waits). Rejects with StateCommitFailedError when the
   * transaction that held them failed, DocumentsClosedError when closed before they could be.
   */
  committed(): Promise<void>
  /**
   * Applies a peer's (already opened) update, after the load and after those of the same
   * document handed in before it; each slice of it is stored and passed on to listeners.
   * Resolves once it is applied and committed (or was already held). Rejects with
   * SyncUpdateRejectedError, logged here: 'malformed', 'over-limit', 'schema', 'too-costly',
   * or 'missing-dependency' (not the peer's fault, see isBenignRefusal); with
   * DocumentsClosedError when closed meanwhile; with StateCommitFailedError when its commit failed.
   */
  applyRemote(name: DocName, update: Uint8Array, peerId: string): Promise<void>
  /**
   * Fires for every update once it is committed, in commit order: each remote one, and the local
   * writes of one document in a group as one update. Returns unsubscribe.
   */
  onUpdate(fn: (u: DocumentUpdate) => void): () => void
  /** Rows refused while loading (they fail to open under every key this machine holds). */
  refusedAtLoad(): number
  /** Commits what is queued, then closes; idempotent. */
  close(): void
}

export interface DocumentsDeps {
  store: DocumentStore
  logger: Logger
  clock: Clock
  /** Gives up the turn between two slices of a remote update or of the load; default a zero timer. */
  pause?: () => Promise<void>
  /**
   * Runs the group commit once the current turn's I/O callbacks have run; default setImmediate
   * (no time passes: it is not a timer, so it is not the Clock's).
   */
  defer?: (fn: () => void) => void
  /** Default DOC_SCHEMAS. */
  schemas?: Readonly<Record<DocName, DocumentSchema>>
}

export interface DocumentsOptions {
  /** Updates in the log after which a commit compacts the document into a snapshot; default 500. */
  compactAfter?: number
  /** Bounds on a remote update (REMOTE_APPLY_DEFAULTS). */
  remote?: Partial<RemoteApplyOptions>
  /** Longest run of the load before it gives up the turn, in ms; default 20. */
  loadTurnMs?: number
}

/** Rows read from the store at a time while loading. */
const LOAD_PAGE_ROWS = 256
/** A single-piece snapshot larger than this (written before snapshots had pieces) is rewritten as pieces at the next commit. */
const REPIECE_BYTES = 1024 * 1024

/** What compaction needs to know of one document's log. */
interface LogSize {
  pending: number
  logBytes: number
  snapshotBytes: number
  refused: boolean
  repiece: boolean
}

export function createDocuments(deps: DocumentsDeps, options: DocumentsOptions = {}): Documents {
  const compactAfter = options.compactAfter ?? 500
  const loadTurnMs = options.loadTurnMs ?? 20
  const schemas = deps.schemas ?? DOC_SCHEMAS
  const { clock, logger, store } = deps
  const pause = deps.pause ?? (() => new Promise<void>((resolve) => void clock.setTimeout(resolve, 0)))
  const defer = deps.defer ?? ((fn: () => void) => void setImmediate(fn))
  const docs = new Map<DocName, Y.Doc>()
  const sizes = new Map<DocName, LogSize>()
  const listeners = new Set<(u: DocumentUpdate) => void>()
  const applier = createRemoteApplier({ clock, pause }, options.remote)
  const queues = new Map<DocName, Promise<void>>()
  const queue: QueuedUpdate[] = []
  let waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = []
  let armed = false
  let closed = false
  let refused = 0
  let loading: Promise<void> | null = null
  let isLoaded = false

  /** Per document, the seq of its last committed row. */
  const committedSeq = new Map<DocName, number>()
  const compactions = new Set<DocName>()
  let compactionArmed = false

  const compactionDue = (name: DocName): boolean => {
    const size = sizes.get(name) as LogSize
    // Compact once the log holds enough updates AND has grown as large as the last snapshot:
    // re-writing the document then costs at most twice what was written since, so compaction
    // stays linear in what is written however large the document grows, and a restart replays
    // at most half the document as single updates (in slices, like the snapshot's pieces).
    // Never over a refused row (a later key may open it), never before the load has ended.
    if (!isLoaded || size.refused) return false
    return size.repiece || (size.pending >= compactAfter && size.logBytes >= size.snapshotBytes)
  }
  // Its own turn, after the group's acknowledgements have gone out: compaction re-encodes the
  // whole document, which should not hold back the answers to the writes that made it due.
  const compactNow = (): void => {
    compactionArmed = false
    for (const name of [...compactions]) {
      compactions.delete(name)
      const doc = docs.get(name)
      const seq = committedSeq.get(name)
      if (closed || doc === undefined || seq === undefined || !compactionDue(name)) continue
      const size = sizes.get(name) as LogSize
      try {
        // The document holds at least every committed row up to `seq` (and maybe updates
        // queued since, which their rows will repeat harmlessly).
        const pieces = encodeSnapshotPieces(doc)
        store.compact(name, pieces, seq)
        size.pending = 0
        size.logBytes = 0
        size.snapshotBytes = pieces.reduce((n, p) => n + p.length, 0)
        size.repiece = false
      } catch (err) {
        // The rows are committed; the log is only longer until the next try.
        logger.error({ code: (err as { code?: string }).code ?? 'CRDT_COMPACTION_FAILED', doc: name, err }, 'compaction failed')
      }
    }
  }

  const flush = (): void => {
    armed = false
    const acks = waiters
    waiters = []
    if (queue.length === 0) {
      for (const a of acks) a.resolve()
      return
    }
    const group = queue.splice(0)
    let seqs: Map<DocName, number>
    try {
      seqs = store.appendMany(group)
    } catch (cause) {
      // Kept, ahead of what comes next: the document holds these updates, so they must reach
      // the log; only their acknowledgements fail.
      queue.unshift(...group)
      const err = new StateCommitFailedError(group.length, { cause })
      logger.error({ code: err.code, updates: group.length, err: cause }, 'a group commit failed; its writes are not acknowledged')
      for (const a of acks) a.reject(err)
      return
    }
    for (const a of acks) a.resolve()
    for (const u of group) {
      const size = sizes.get(u.doc) as LogSize
      size.pending++
      size.logBytes += u.update.length
    }
    for (const [name, seq] of seqs) {
      committedSeq.set(name, seq)
      if (compactionDue(name)) compactions.add(name)
    }
    if (compactions.size > 0 && !compactionArmed && !closed) {
      compactionArmed = true
      defer(() => {
        try {
          compactNow()
        } catch (err) {
          logger.error({ code: 'CRDT_COMPACTION_FAILED', err }, 'compaction threw')
        }
      })
    }
    if (listeners.size === 0) return
    for (const u of announcedUpdates(group, (name) => docs.get(name) as Y.Doc, logger)) {
      for (const fn of listeners) {
        try {
          fn(u)
        } catch (err) {
          logger.error({ code: 'CRDT_LISTENER_FAILED', err }, 'a document update listener threw')
        }
      }
    }
  }

  const arm = (): void => {
    if (armed || closed) return
    armed = true
    defer(() => {
      try {
        flush()
      } catch (err) {
        // flush catches what the store throws; this is a last resort so nothing escapes the turn.
        logger.error({ code: 'CRDT_COMMIT_FAILED', err }, 'the group commit threw')
      }
    })
  }

  for (const name of DOC_NAMES) {
    const doc = new Y.Doc({ gc: true })
    sizes.set(name, { pending: 0, logBytes: 0, snapshotBytes: 0, refused: false, repiece: false })
    doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
      if (origin === LOADING) return
      const from = origin instanceof RemoteOrigin ? origin.peerId : null
      const reaches = new Map<number, number>()
      const starts = from === null ? new Map<number, number>() : null
      for (const [client, clock] of tr.afterState) {
        const before = tr.beforeState.get(client) ?? 0
        if (clock <= before) continue
        reaches.set(client, clock)
        starts?.set(client, before)
      }
      const deletes = tr.deleteSet.clients.size > 0
      queue.push({ doc: name, update, from, reaches, deletes, starts, deleteSet: from === null && deletes ? tr.deleteSet : null })
      arm()
    })
    docs.set(name, doc)
  }

  const noteRefused = (name: DocName, rows: RefusedRow[]): void => {
    for (const row of rows) logger.warn({ code: row.code, reason: row.reason, doc: name, seq: row.seq }, 'stored update refused at load')
    refused += rows.length
    if (rows.length > 0) (sizes.get(name) as LogSize).refused = true
  }

  const loadAll = async (): Promise<void> => {
    let turnStart = clock.now()
    const checkpoint = async (): Promise<void> => {
      if (clock.now() - turnStart < loadTurnMs) return
      await pause()
      if (closed) throw new DocumentsClosedError()
      turnStart = clock.now()
    }
    /** Applies `updates` from `at` on in one transaction until the turn is used up; returns where it stopped. */
    const applySome = (name: DocName, doc: Y.Doc, updates: Uint8Array[], at: number, seq: number): number => {
      let i = at
      // One transaction for a turn's worth: Yjs's per-transaction clean-up is the costly part.
      doc.transact(() => {
        do {
          try {
            Y.applyUpdate(doc, updates[i] as Uint8Array, LOADING)
          } catch (cause) {
            noteRefused(name, [{ seq, code: 'SYNC_UPDATE_REJECTED', reason: `malformed: ${(cause as Error).message}` }])
          }
          i++
        } while (i < updates.length && clock.now() - turnStart < loadTurnMs)
      }, LOADING)
      return i
    }
    for (const name of DOC_NAMES) {
      const doc = docs.get(name) as Y.Doc
      const size = sizes.get(name) as LogSize
      const snapshot = store.openSnapshot(name)
      noteRefused(name, snapshot.refused)
      for (const piece of snapshot.pieces) {
        applySome(name, doc, [piece], 0, snapshot.uptoSeq)
        size.snapshotBytes += piece.length
        await checkpoint()
      }
      size.repiece = snapshot.pieces.length === 1 && size.snapshotBytes > REPIECE_BYTES
      for (let after = snapshot.uptoSeq; ; ) {
        const page = store.openRows(name, after, LOAD_PAGE_ROWS)
        noteRefused(name, page.refused)
        for (const row of page.rows) {
          size.pending += row.updates.length
          for (const u of row.updates) size.logBytes += u.length
          for (let at = 0; at < row.updates.length; ) {
            at = applySome(name, doc, row.updates, at, row.seq)
            await checkpoint()
          }
        }
        if (page.lastSeq === after) break
        after = page.lastSeq
      }
    }
    isLoaded = true
  }

  const load = (): Promise<void> => {
    loading ??= closed ? Promise.reject(new DocumentsClosedError()) : loadAll()
    return loading
  }
  const committed = (): Promise<void> => {
    if (queue.length === 0) return Promise.resolve()
    if (closed) return Promise.reject(new DocumentsClosedError())
    return new Promise<void>((resolve, reject) => {
      waiters.push({ resolve, reject })
      arm()
    })
  }

  return {
    doc(name) {
      const doc = docs.get(name)
      if (doc === undefined) throw new RangeError(`unknown document ${name}`)
      return doc
    },
    load,
    loaded: () => isLoaded,
    committed,
    applyRemote(name, update, peerId) {
      if (closed) return Promise.reject(new DocumentsClosedError())
      const doc = docs.get(name)
      if (doc === undefined) return Promise.reject(new SyncUpdateRejectedError('wrong-document', `"${String(name)}" is not a document name`))
      const run = async (): Promise<void> => {
        await load()
        if (closed) throw new DocumentsClosedError()
        try {
          const result = await applier.apply(doc, schemas[name], update, new RemoteOrigin(peerId), () => closed)
          if (result.slices > 1) {
            logger.debug({ doc: name, peerId, structs: result.structs, slices: result.slices, workMs: result.workMs }, 'remote update applied in slices')
          }
        } catch (err) {
          if (err instanceof SyncUpdateRejectedError) {
            logger.warn({ code: err.code, reason: err.reason, doc: name, peerId, detail: err.message }, 'remote update refused')
          }
          throw err
        }
        await committed()
      }
      // One remote update of a document at a time, in the order they came.
      const previous = queues.get(name) ?? Promise.resolve()
      const current = previous.then(run, run)
      const settled = current.catch(() => undefined)
      queues.set(name, settled)
      void settled.then(() => {
        if (queues.get(name) === settled) queues.delete(name)
      })
      return current
    },
    onUpdate(fn) {
      listeners.add(fn)
      return () => void listeners.delete(fn)
    },
    refusedAtLoad: () => refused,
    close() {
      if (closed) return
      // What was written before the close is committed by it (a graceful stop loses nothing).
      flush()
      closed = true
      for (const a of waiters.splice(0)) a.reject(new DocumentsClosedError())
      for (const doc of docs.values()) doc.destroy()
      docs.clear()
      listeners.clear()
    },
  }
}
