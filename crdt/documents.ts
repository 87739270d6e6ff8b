/**
 * The agent's documents on this machine: one Y.Doc per document, loaded from the sealed
 * update log at start. Every update, local or remote, is appended to the log in the same
 * synchronous step in which Yjs reports it, so a local write has committed (is acknowledged)
 * by the time the model call that made it returns.
 *
 * A peer's update is checked against the document's schema, its dependencies and its cost
 * before any of it is applied, and applied in slices across turns of the event loop
 * (remote-apply.ts). Remote updates of one document are applied one after the other, in the
 * order they were handed in; local writes go straight in, between two slices if need be:
 * each slice is a transaction of its own, stored and passed to the listeners like any other.
 */
import * as Y from 'yjs'
import type { Clock, Logger } from '../runtime/index.js'
import type { DocumentStore } from './document-store.js'
import { DocumentsClosedError, SyncUpdateRejectedError } from './errors.js'
import { JOBS_SCHEMA } from './jobs-model.js'
import { MEMORY_SCHEMA } from './memory-model.js'
import { RELATIONSHIPS_SCHEMA } from './relationships-model.js'
import { createRemoteApplier, type RemoteApplyOptions } from './remote-apply.js'
import { DOC_NAMES, type DocName } from './sealed-update.js'
import { SECRETS_SCHEMA } from './secrets-model.js'
import { EMPTY_SCHEMA, type DocumentSchema } from './update-schema.js'

/**
 * The schema of each document, declared by its model. `channels` has no model yet, so no
 * peer may add anything to it; its model will declare its schema as the others do.
 */
export const DOC_SCHEMAS: Readonly<Record<DocName, DocumentSchema>> = Object.freeze({
  memory: MEMORY_SCHEMA,
  relationships: RELATIONSHIPS_SCHEMA,
  jobs: JOBS_SCHEMA,
  channels: EMPTY_SCHEMA,
  secrets: SECRETS_SCHEMA,
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
   * Applies a peer's (already opened) update, after those of the same document handed in
   * before it; each slice of it is stored and passed on to listeners. Resolves once it is
   * applied (or was already held). Rejects with SyncUpdateRejectedError, logged here:
   * 'malformed', 'over-limit', 'schema', 'too-costly', or 'missing-dependency' (not the
   * peer's fault, see isBenignRefusal); with DocumentsClosedError when closed meanwhile.
   */
  applyRemote(name: DocName, update: Uint8Array, peerId: string): Promise<void>
  /** Fires after every stored update, local or remote. Returns unsubscribe. */
  onUpdate(fn: (u: DocumentUpdate) => void): () => void
  /** Rows refused while loading (they fail to open under every key this machine holds). */
  refusedAtLoad(): number
  close(): void
}

export interface DocumentsDeps {
  store: DocumentStore
  logger: Logger
  clock: Clock
  /** Gives up the turn between two slices of a remote update; default a zero timer. */
  pause?: () => Promise<void>
  /** Default DOC_SCHEMAS. */
  schemas?: Readonly<Record<DocName, DocumentSchema>>
}

export interface DocumentsOptions {
  /** Log rows after which a write compacts the document into a snapshot; default 500. */
  compactAfter?: number
  /** Bounds on a remote update (REMOTE_APPLY_DEFAULTS). */
  remote?: Partial<RemoteApplyOptions>
}

export function createDocuments(deps: DocumentsDeps, options: DocumentsOptions = {}): Documents {
  const compactAfter = options.compactAfter ?? 500
  const schemas = deps.schemas ?? DOC_SCHEMAS
  const docs = new Map<DocName, Y.Doc>()
  const listeners = new Set<(u: DocumentUpdate) => void>()
  const applier = createRemoteApplier({ clock: deps.clock, ...(deps.pause === undefined ? {} : { pause: deps.pause }) }, options.remote)
  const queues = new Map<DocName, Promise<void>>()
  let closed = false
  let refused = 0

  for (const name of DOC_NAMES) {
    const doc = new Y.Doc({ gc: true })
    const loaded = deps.store.load(name)
    for (const row of loaded.refused) {
      deps.logger.warn({ code: row.code, reason: row.reason, doc: name, seq: row.seq }, 'stored update refused at load')
    }
    refused += loaded.refused.length
    // One transaction for the whole log: Yjs's per-transaction clean-up is the costly part.
    doc.transact(() => {
      for (const update of loaded.updates) Y.applyUpdate(doc, update, LOADING)
    }, LOADING)
    // No compaction here: the rule below runs on the next write, with the sizes as loaded
    // (the snapshot, when there is one, comes first; the log rows follow).
    let pending = deps.store.pending(name)
    const hasSnapshot = loaded.updates.length > pending
    let snapshotBytes = hasSnapshot ? (loaded.updates[0]?.length ?? 0) : 0
    let logBytes = 0
    for (const update of loaded.updates.slice(hasSnapshot ? 1 : 0)) logBytes += update.length
    doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
      if (origin === LOADING) return
      // Synchronous: the SQLite transaction commits before the writer's call returns.
      const seq = deps.store.append(name, update)
      pending++
      logBytes += update.length
      // Compact once the log holds enough rows AND has grown to a quarter of the last
      // snapshot: re-writing the document then costs at most four times the log it replaces,
      // so compaction stays linear in what is written however large the document grows, and
      // a restart replays at most a fifth of the document as single updates (the slow part).
      if (pending >= compactAfter && logBytes * 4 >= snapshotBytes && loaded.refused.length === 0) {
        const state = Y.encodeStateAsUpdate(doc)
        deps.store.compact(name, state, seq)
        pending = 0
        logBytes = 0
        snapshotBytes = state.length
      }
      const from = origin instanceof RemoteOrigin ? origin.peerId : null
      const reaches = new Map<number, number>()
      for (const [client, clock] of tr.afterState) if (clock > (tr.beforeState.get(client) ?? 0)) reaches.set(client, clock)
      const deletes = tr.deleteSet.clients.size > 0
      for (const fn of listeners) {
        try {
          fn({ doc: name, update, from, reaches, deletes })
        } catch (err) {
          deps.logger.error({ code: 'CRDT_LISTENER_FAILED', err }, 'a document update listener threw')
        }
      }
    })
    docs.set(name, doc)
  }

  return {
    doc(name) {
      const doc = docs.get(name)
      if (doc === undefined) throw new RangeError(`unknown document ${name}`)
      return doc
    },
    applyRemote(name, update, peerId) {
      if (closed) return Promise.reject(new DocumentsClosedError())
      const doc = docs.get(name)
      if (doc === undefined) return Promise.reject(new SyncUpdateRejectedError('wrong-document', `"${String(name)}" is not a document name`))
      const run = async (): Promise<void> => {
        if (closed) throw new DocumentsClosedError()
        try {
          const result = await applier.apply(doc, schemas[name], update, new RemoteOrigin(peerId), () => closed)
          if (result.slices > 1) {
            deps.logger.debug({ doc: name, peerId, structs: result.structs, slices: result.slices, workMs: result.workMs }, 'remote update applied in slices')
          }
        } catch (err) {
          if (err instanceof SyncUpdateRejectedError) {
            deps.logger.warn({ code: err.code, reason: err.reason, doc: name, peerId, detail: err.message }, 'remote update refused')
          }
          throw err
        }
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
      closed = true
      for (const doc of docs.values()) doc.destroy()
      docs.clear()
      listeners.clear()
    },
  }
}
