/**
 * The agent's documents on this machine: one Y.Doc per document, loaded from the sealed
 * update log at start. Every update, local or remote, is appended to the log in the same
 * synchronous step in which Yjs reports it, so a local write has committed (is acknowledged)
 * by the time the model call that made it returns.
 */
import * as Y from 'yjs'
import type { MeshLogger } from '../mesh/index.js'
import type { DocumentStore } from './document-store.js'
import { DOC_NAMES, type DocName } from './sealed-update.js'

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
   * Applies a peer's (already opened) update; it is stored and passed on to listeners. May
   * take time (the caller awaits it, a peer's updates one at a time) and may refuse the update
   * with SyncUpdateRejectedError.
   */
  applyRemote(name: DocName, update: Uint8Array, peerId: string): void | Promise<void>
  /** Fires after every stored update, local or remote. Returns unsubscribe. */
  onUpdate(fn: (u: DocumentUpdate) => void): () => void
  /** Rows refused while loading (they fail to open under every key this machine holds). */
  refusedAtLoad(): number
  close(): void
}

export function createDocuments(deps: { store: DocumentStore; logger: MeshLogger }, options: { compactAfter?: number } = {}): Documents {
  const compactAfter = options.compactAfter ?? 500
  const docs = new Map<DocName, Y.Doc>()
  const listeners = new Set<(u: DocumentUpdate) => void>()
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
      const doc = docs.get(name)
      if (doc === undefined) return
      Y.applyUpdate(doc, update, new RemoteOrigin(peerId))
    },
    onUpdate(fn) {
      listeners.add(fn)
      return () => void listeners.delete(fn)
    },
    refusedAtLoad: () => refused,
    close() {
      for (const doc of docs.values()) doc.destroy()
      docs.clear()
      listeners.clear()
    },
  }
}
