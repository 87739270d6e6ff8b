/**
 * The update log of the agent's documents: sealed rows of Yjs updates, and at most one sealed
 * snapshot per document that stands for every row of that document up to its mark, kept by a
 * DocumentStorage port (document-storage.ts; state.db's `doc_updates` and `doc_snapshots` in
 * the node). This file seals and opens; only sealed bytes ever reach the storage.
 *
 * A row holds `updates` updates: one is the Yjs update itself (every row before migration 4);
 * several, as a group commit writes them, are packed as frames (u32 big-endian length, then
 * the bytes), sealed once with the count bound into the seal (so the count cannot be altered
 * on disk without the row failing to open): sealing costs about the same for 100 bytes as for 100 KB, so one
 * seal per group rather than per update is most of what a group commit saves. A snapshot
 * holds `pieces` updates the same way: the document's state cut into pieces that apply one
 * after the other (snapshot-pieces.ts), so that a load can give up the turn between them.
 *
 * A write is acknowledged when the storage has committed it, so after a crash everything that
 * was acknowledged is there. Compaction writes the snapshot and deletes the rows it covers in
 * one step of the storage, so a crash leaves either the old snapshot and its rows or the new
 * snapshot. `seq` is one sequence shared by all documents: never reused, always rising.
 */
import * as Y from 'yjs'
import { SealMalformedError, readSealedEpoch, type MeshKey } from '../identity/index.js'
import type { DocumentStorage, NewRow, StoredRow, StoredSnapshot } from './document-storage.js'
import { ModelInputInvalidError, SyncUpdateRejectedError } from './errors.js'
import { isDocName, openUpdate, resealUpdate, sealUpdate, type DocName } from './sealed-update.js'

export interface DocumentStoreDeps {
  /** Where the sealed rows and snapshots are kept (createSqliteDocumentStorage on state.db). */
  storage: DocumentStorage
  meshId: string
  /** The key new rows and snapshots are sealed with. */
  currentKey(): MeshKey
  /** Every key this machine holds, by epoch (the current one included). */
  keyFor(epoch: number): MeshKey | undefined
}

export interface DocumentStoreOptions {
  /** Log rows of one document after which `load` folds them into the snapshot; default 500. */
  compactAfter?: number
}

export interface RefusedRow {
  /** The row's seq; a snapshot that fails to open is reported under its `upto_seq`. */
  seq: number
  /** The error code, `SYNC_UPDATE_REJECTED` for every row that fails to open. */
  code: string
  /** `SyncUpdateRejectedError.reason`: 'unknown-epoch', 'auth-failed', 'malformed', ... */
  reason: string
}

export interface DocumentStore {
  /** Seals `update` with the current key and inserts it; returns its seq once committed. */
  append(doc: DocName, update: Uint8Array): number
  /**
   * A group commit: every update of `items`, of one or several documents, in one transaction,
   * all stored or none. The updates of one document go into one row (sealed once, in order);
   * returns, per document, the seq of its row, once committed.
   */
  appendMany(items: ReadonlyArray<{ doc: DocName; update: Uint8Array }>): Map<DocName, number>
  /**
   * The snapshot (if any), then every later row, opened in seq order, each row's updates in
   * the order they were appended. A row that fails to open is skipped and listed in `refused`;
   * `load` never throws for a bad row. When at least `compactAfter` updates follow the
   * snapshot and none was refused, they are merged into a new snapshot first, and `updates` is
   * that one merged update.
   */
  load(doc: DocName): { updates: Uint8Array[]; refused: RefusedRow[] }
  /**
   * The snapshot alone, opened: its pieces (updates to apply in order) and the seq it stands
   * for (0 and no pieces when there is none); `refused` when it fails to open.
   */
  openSnapshot(doc: DocName): { uptoSeq: number; pieces: Uint8Array[]; refused: RefusedRow[] }
  /** Up to `limit` rows of `doc` after `afterSeq`, opened, in seq order (for a load in slices). */
  openRows(doc: DocName, afterSeq: number, limit: number): { rows: Array<{ seq: number; updates: Uint8Array[] }>; refused: RefusedRow[]; lastSeq: number }
  /** Count of updates in the log rows after the snapshot for this document. */
  pending(doc: DocName): number
  /**
   * Seals `state` as the snapshot: Y.encodeStateAsUpdate of the whole document, or the same
   * state as pieces that apply in order (encodeSnapshotPieces), and deletes every row of `doc`
   * up to and including `uptoSeq`, in one transaction. The sealed snapshot is opened before
   * anything is deleted: `ModelInputInvalidError` when a piece is not a Yjs update or `uptoSeq`
   * is past `lastSeq`, `SyncUpdateRejectedError` when `keyFor` cannot open what `currentKey`
   * sealed.
   */
  compact(doc: DocName, state: Uint8Array | readonly Uint8Array[], uptoSeq: number): void
  /** Highest seq stored for this document, in the log or covered by its snapshot; 0 if none. */
  lastSeq(doc: DocName): number
  /**
   * Re-seals under the current key every row and snapshot sealed under another epoch, in one
   * transaction; returns how many it re-sealed. Bytes that no key we hold opens are left as
   * they are (they are what `load` refuses).
   */
  reseal(): number
}

const RESEAL_PAGE = 256

export function createDocumentStore(deps: DocumentStoreDeps, options: DocumentStoreOptions = {}): DocumentStore {
  const { storage, meshId } = deps
  const compactAfter = options.compactAfter ?? 500
  if (!Number.isInteger(compactAfter) || compactAfter < 1) {
    throw new ModelInputInvalidError('compactAfter', 'must be a positive integer')
  }

  const keys = (epoch: number): MeshKey | undefined => deps.keyFor(epoch)

  const sealRow = (doc: DocName, updates: readonly Uint8Array[]): NewRow => ({
    doc,
    sealed: updates.length === 1 ? sealUpdate(deps.currentKey(), meshId, doc, updates[0] as Uint8Array) : sealUpdate(deps.currentKey(), meshId, doc, packUpdates(updates), { packed: updates.length }),
    updates: updates.length,
  })

  /** The updates a sealed row or snapshot of `count` updates holds; throws SyncUpdateRejectedError. */
  const open = (doc: DocName, sealed: Uint8Array, count: number): Uint8Array[] => {
    // The bytes are authenticated and a snapshot may be far larger than a peer's update: no size cap.
    if (count === 1) return [openUpdate(keys, meshId, doc, sealed, { maxBytes: Number.POSITIVE_INFINITY }).update]
    return unpackUpdates(openUpdate(keys, meshId, doc, sealed, { maxBytes: Number.POSITIVE_INFINITY, packed: count }).update, count)
  }
  const openStored = (doc: DocName, snapshot: StoredSnapshot | undefined): { uptoSeq: number; pieces: Uint8Array[]; refused: RefusedRow[] } => {
    if (snapshot === undefined) return { uptoSeq: 0, pieces: [], refused: [] }
    try {
      return { uptoSeq: snapshot.uptoSeq, pieces: open(doc, snapshot.sealed, snapshot.pieces), refused: [] }
    } catch (err) {
      return { uptoSeq: snapshot.uptoSeq, pieces: [], refused: [describeRefusal(snapshot.uptoSeq, err)] }
    }
  }
  const openStoredRows = (doc: DocName, raw: readonly StoredRow[], afterSeq: number): { rows: Array<{ seq: number; updates: Uint8Array[] }>; refused: RefusedRow[]; lastSeq: number } => {
    const rows: Array<{ seq: number; updates: Uint8Array[] }> = []
    const refused: RefusedRow[] = []
    for (const row of raw) {
      try {
        rows.push({ seq: row.seq, updates: open(doc, row.sealed, row.updates) })
      } catch (err) {
        refused.push(describeRefusal(row.seq, err))
      }
    }
    return { rows, refused, lastSeq: raw.at(-1)?.seq ?? afterSeq }
  }

  // The rows are deleted once the snapshot is written, so first prove it opens: a state that
  // is not a Yjs update, or a keyFor that lacks the current key, must not cost the document.
  // Done before the transaction, so the write lock is not held while a large state is parsed.
  const sealSnapshot = (doc: DocName, pieces: readonly Uint8Array[]): Uint8Array => {
    if (pieces.length === 0) throw new ModelInputInvalidError('state', 'holds no piece')
    for (const piece of pieces) {
      if (!(piece instanceof Uint8Array)) throw new ModelInputInvalidError('state', 'must be a Uint8Array or an array of them')
      // A structural read of the state (far cheaper than applying it to a scratch document,
      // which for a large document took seconds on every compaction).
      try {
        Y.parseUpdateMeta(piece)
      } catch {
        throw new ModelInputInvalidError('state', 'is not a Yjs update')
      }
    }
    const packed = pieces.length === 1 ? {} : { packed: pieces.length }
    const sealed = sealUpdate(deps.currentKey(), meshId, doc, pieces.length === 1 ? (pieces[0] as Uint8Array) : packUpdates(pieces), packed)
    try {
      openUpdate(keys, meshId, doc, sealed, { maxBytes: Number.POSITIVE_INFINITY, ...packed })
    } catch (err) {
      if (err instanceof SyncUpdateRejectedError && err.reason === 'malformed') {
        throw new ModelInputInvalidError('state', 'is not a Yjs update')
      }
      throw err
    }
    return sealed
  }

  const reseal = (): number => {
    const current = deps.currentKey()
    return storage.rewrite(({ doc, sealed, count }) => {
      if (!isDocName(doc) || epochOf(sealed) === current.epoch) return undefined
      try {
        return resealUpdate(keys, current, meshId, doc, sealed, count === 1 ? {} : { packed: count })
      } catch (err) {
        if (err instanceof SyncUpdateRejectedError) return undefined
        throw err
      }
    })
  }

  return {
    append(doc, update) {
      assertDoc(doc)
      return storage.append([sealRow(doc, [update])])[0] as number
    },

    appendMany(items) {
      const byDoc = new Map<DocName, Uint8Array[]>()
      for (const { doc, update } of items) {
        assertDoc(doc)
        if (!(update instanceof Uint8Array)) throw new ModelInputInvalidError('update', 'must be a Uint8Array')
        const list = byDoc.get(doc)
        if (list === undefined) byDoc.set(doc, [update])
        else list.push(update)
      }
      if (byDoc.size === 0) return new Map()
      const docs = [...byDoc.keys()]
      const seqs = storage.append(docs.map((doc) => sealRow(doc, byDoc.get(doc) as Uint8Array[])))
      return new Map(docs.map((doc, i) => [doc, seqs[i] as number]))
    },

    load(doc) {
      assertDoc(doc)
      const stored = storage.read(doc)
      const snapshot = openStored(doc, stored.snapshot)
      const log = openStoredRows(doc, stored.rows, snapshot.uptoSeq)
      const updates = [...snapshot.pieces]
      for (const row of log.rows) updates.push(...row.updates)
      const refused = [...snapshot.refused, ...log.refused]
      const logUpdates = updates.length - snapshot.pieces.length
      const lastRow = log.rows.at(-1)
      if (lastRow !== undefined && logUpdates >= compactAfter && refused.length === 0) {
        // Compacting past a refused row would delete bytes that a later key may still open.
        const merged = Y.mergeUpdates(updates)
        storage.replaceWithSnapshot(doc, { sealed: sealSnapshot(doc, [merged]), pieces: 1 }, lastRow.seq)
        return { updates: [merged], refused }
      }
      return { updates, refused }
    },

    openSnapshot(doc) {
      assertDoc(doc)
      return openStored(doc, storage.snapshot(doc))
    },

    openRows(doc, afterSeq, limit) {
      assertDoc(doc)
      return openStoredRows(doc, storage.rows(doc, afterSeq, limit), afterSeq)
    },

    pending(doc) {
      assertDoc(doc)
      return storage.pendingUpdates(doc)
    },

    compact(doc, state, uptoSeq) {
      assertDoc(doc)
      if (!Number.isSafeInteger(uptoSeq) || uptoSeq < 0) {
        throw new ModelInputInvalidError('uptoSeq', 'must be a non-negative integer')
      }
      const pieces: readonly Uint8Array[] = state instanceof Uint8Array ? [state] : Array.isArray(state) ? state : []
      if (!(state instanceof Uint8Array) && !Array.isArray(state)) throw new ModelInputInvalidError('state', 'must be a Uint8Array or an array of them')
      storage.replaceWithSnapshot(doc, { sealed: sealSnapshot(doc, pieces), pieces: pieces.length }, uptoSeq)
    },

    lastSeq(doc) {
      assertDoc(doc)
      return storage.lastSeq(doc)
    },

    reseal,
  }
}

/** Frames of several updates: each a u32 big-endian length, then its bytes. */
export function packUpdates(updates: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const u of updates) size += 4 + u.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const u of updates) {
    view.setUint32(at, u.length, false)
    out.set(u, at + 4)
    at += 4 + u.length
  }
  return out
}

/** The `count` updates of packed frames; SyncUpdateRejectedError('malformed') unless they fill the bytes exactly. */
export function unpackUpdates(bytes: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Uint8Array[] = []
  let at = 0
  while (at < bytes.length) {
    if (bytes.length - at < 4) throw new SyncUpdateRejectedError('malformed', 'a packed row ends inside a frame length')
    const length = view.getUint32(at, false)
    if (length > bytes.length - at - 4) throw new SyncUpdateRejectedError('malformed', `a packed frame of ${length} bytes runs past the row`)
    out.push(bytes.subarray(at + 4, at + 4 + length))
    at += 4 + length
  }
  if (out.length !== count) throw new SyncUpdateRejectedError('malformed', `a packed row holds ${out.length} updates, not the ${count} its record says`)
  return out
}

function assertDoc(doc: string): asserts doc is DocName {
  if (!isDocName(doc)) throw new ModelInputInvalidError('doc', `"${String(doc)}" is not a document name`)
}

function describeRefusal(seq: number, err: unknown): RefusedRow {
  if (err instanceof SyncUpdateRejectedError) return { seq, code: err.code, reason: err.reason }
  // Not a rejection of the bytes (a keyFor that throws, say): still reported, never thrown.
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'UNKNOWN'
  return { seq, code, reason: err instanceof Error ? err.message : String(err) }
}

/** The header's epoch, or undefined when the bytes are not mesh-sealed. */
function epochOf(sealed: Uint8Array): number | undefined {
  try {
    return readSealedEpoch(sealed)
  } catch (err) {
    if (err instanceof SealMalformedError) return undefined
    throw err
  }
}
