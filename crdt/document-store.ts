/**
 * The update log of the agent's documents in state.db: one sealed row per Yjs update in
 * `doc_updates`, and at most one sealed snapshot per document in `doc_snapshots` that stands
 * for every row of that document up to `upto_seq`. Only sealed bytes ever reach the tables.
 *
 * A write is acknowledged when its transaction commits, so after a crash everything that was
 * acknowledged is there. Compaction writes the snapshot and deletes the rows it covers in one
 * transaction, so a crash leaves either the old snapshot and its rows or the new snapshot.
 * `seq` is one AUTOINCREMENT sequence shared by all documents: never reused, always rising.
 */
import type Database from 'better-sqlite3'
import * as Y from 'yjs'
import { SealMalformedError, readSealedEpoch, type MeshKey } from '../identity/index.js'
import { ModelInputInvalidError, SyncUpdateRejectedError } from './errors.js'
import { isDocName, openUpdate, resealUpdate, sealUpdate, type DocName } from './sealed-update.js'

export interface DocumentStoreDeps {
  db: Database.Database
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
  /** Several updates, of one or several documents, in one transaction: all are stored or none. */
  appendMany(items: Array<{ doc: DocName; update: Uint8Array }>): void
  /**
   * The snapshot (if any), then every later row, opened in seq order. A row that fails to
   * open is skipped and listed in `refused`; `load` never throws for a bad row. When at least
   * `compactAfter` rows follow the snapshot and none was refused, they are merged into a new
   * snapshot first, and `updates` is that one merged update.
   */
  load(doc: DocName): { updates: Uint8Array[]; refused: RefusedRow[] }
  /** Count of log rows after the snapshot for this document. */
  pending(doc: DocName): number
  /**
   * Seals `state` (Y.encodeStateAsUpdate of the whole document) as the snapshot and deletes
   * every row of `doc` up to and including `uptoSeq`, in one transaction. The sealed snapshot
   * is opened before anything is deleted: `ModelInputInvalidError` when `state` is not a Yjs
   * update or `uptoSeq` is past `lastSeq`, `SyncUpdateRejectedError` when `keyFor` cannot
   * open what `currentKey` sealed.
   */
  compact(doc: DocName, state: Uint8Array, uptoSeq: number): void
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
  const { db, meshId } = deps
  const compactAfter = options.compactAfter ?? 500
  if (!Number.isInteger(compactAfter) || compactAfter < 1) {
    throw new ModelInputInvalidError('compactAfter', 'must be a positive integer')
  }

  const insertRow = db.prepare('INSERT INTO doc_updates (doc, sealed) VALUES (?, ?)')
  const selectSnapshot = db.prepare('SELECT sealed, upto_seq FROM doc_snapshots WHERE doc = ?')
  const selectRowsAfter = db.prepare('SELECT seq, sealed FROM doc_updates WHERE doc = ? AND seq > ? ORDER BY seq')
  const countPending = db.prepare(
    'SELECT COUNT(*) AS n FROM doc_updates WHERE doc = @doc AND seq > COALESCE((SELECT upto_seq FROM doc_snapshots WHERE doc = @doc), 0)',
  )
  const selectLastSeq = db.prepare(
    'SELECT MAX(s) AS s FROM (SELECT MAX(seq) AS s FROM doc_updates WHERE doc = @doc UNION ALL SELECT upto_seq FROM doc_snapshots WHERE doc = @doc)',
  )
  const upsertSnapshot = db.prepare(
    'INSERT INTO doc_snapshots (doc, sealed, upto_seq) VALUES (?, ?, ?) ON CONFLICT(doc) DO UPDATE SET sealed = excluded.sealed, upto_seq = excluded.upto_seq',
  )
  const deleteRowsUpTo = db.prepare('DELETE FROM doc_updates WHERE doc = ? AND seq <= ?')
  const selectPage = db.prepare('SELECT seq, doc, sealed FROM doc_updates WHERE seq > ? ORDER BY seq LIMIT ?')
  const updateRow = db.prepare('UPDATE doc_updates SET sealed = ? WHERE seq = ?')
  const selectSnapshots = db.prepare('SELECT doc, sealed FROM doc_snapshots ORDER BY doc')
  const updateSnapshot = db.prepare('UPDATE doc_snapshots SET sealed = ? WHERE doc = ?')

  const keys = (epoch: number): MeshKey | undefined => deps.keyFor(epoch)
  const lastSeqOf = (doc: DocName): number => (selectLastSeq.get({ doc }) as { s: number | null }).s ?? 0

  const insert = (doc: DocName, update: Uint8Array): number => {
    assertDoc(doc)
    const sealed = sealUpdate(deps.currentKey(), meshId, doc, update)
    return Number(insertRow.run(doc, asBuffer(sealed)).lastInsertRowid)
  }

  const appendTx = db.transaction(insert)
  const appendManyTx = db.transaction((items: Array<{ doc: DocName; update: Uint8Array }>) => {
    for (const item of items) insert(item.doc, item.update)
  })

  const readTx = db.transaction((doc: DocName) => {
    const snapshot = selectSnapshot.get(doc) as { sealed: Buffer; upto_seq: number } | undefined
    const rows = selectRowsAfter.all(doc, snapshot?.upto_seq ?? 0) as Array<{ seq: number; sealed: Buffer }>
    return { snapshot, rows }
  })

  // The rows are deleted once the snapshot is written, so first prove it opens: a state that
  // is not a Yjs update, or a keyFor that lacks the current key, must not cost the document.
  // Done before the transaction, so the write lock is not held while a large state is parsed.
  const sealSnapshot = (doc: DocName, state: Uint8Array): Uint8Array => {
    // A structural read of the state (far cheaper than applying it to a scratch document,
    // which for a large document took seconds on every compaction).
    try {
      Y.parseUpdateMeta(state)
    } catch {
      throw new ModelInputInvalidError('state', 'is not a Yjs update')
    }
    const sealed = sealUpdate(deps.currentKey(), meshId, doc, state)
    try {
      openUpdate(keys, meshId, doc, sealed, { maxBytes: Number.POSITIVE_INFINITY })
    } catch (err) {
      if (err instanceof SyncUpdateRejectedError && err.reason === 'malformed') {
        throw new ModelInputInvalidError('state', 'is not a Yjs update')
      }
      throw err
    }
    return sealed
  }

  const compactTx = db.transaction((doc: DocName, sealed: Uint8Array, uptoSeq: number) => {
    const last = lastSeqOf(doc)
    if (uptoSeq > last) throw new ModelInputInvalidError('uptoSeq', `${uptoSeq} is past the last seq ${last} of ${doc}`)
    const previous = selectSnapshot.get(doc) as { upto_seq: number } | undefined
    // Rows below an earlier snapshot's mark are already gone; never move the mark back.
    upsertSnapshot.run(doc, asBuffer(sealed), Math.max(uptoSeq, previous?.upto_seq ?? 0))
    deleteRowsUpTo.run(doc, uptoSeq)
  })

  const resealTx = db.transaction((): number => {
    const current = deps.currentKey()
    const reseal = (doc: string, sealed: Uint8Array): Uint8Array | undefined => {
      if (!isDocName(doc) || epochOf(sealed) === current.epoch) return undefined
      try {
        return resealUpdate(keys, current, meshId, doc, sealed)
      } catch (err) {
        if (err instanceof SyncUpdateRejectedError) return undefined
        throw err
      }
    }
    let count = 0
    // Paged, because better-sqlite3 cannot write while an iterator is open on the connection.
    for (let after = 0; ; ) {
      const page = selectPage.all(after, RESEAL_PAGE) as Array<{ seq: number; doc: string; sealed: Buffer }>
      if (page.length === 0) break
      for (const row of page) {
        after = row.seq
        const resealed = reseal(row.doc, row.sealed)
        if (resealed === undefined) continue
        updateRow.run(asBuffer(resealed), row.seq)
        count++
      }
    }
    for (const snap of selectSnapshots.all() as Array<{ doc: string; sealed: Buffer }>) {
      const resealed = reseal(snap.doc, snap.sealed)
      if (resealed === undefined) continue
      updateSnapshot.run(asBuffer(resealed), snap.doc)
      count++
    }
    return count
  })

  return {
    append(doc, update) {
      return appendTx(doc, update)
    },

    appendMany(items) {
      appendManyTx(items)
    },

    load(doc) {
      assertDoc(doc)
      const { snapshot, rows } = readTx(doc)
      const updates: Uint8Array[] = []
      const refused: RefusedRow[] = []
      // The snapshot is authenticated and may be far larger than a peer's update: no size cap.
      const open = (seq: number, sealed: Uint8Array): void => {
        try {
          updates.push(openUpdate(keys, meshId, doc, sealed, { maxBytes: Number.POSITIVE_INFINITY }).update)
        } catch (err) {
          refused.push(describeRefusal(seq, err))
        }
      }
      if (snapshot !== undefined) open(snapshot.upto_seq, snapshot.sealed)
      for (const row of rows) open(row.seq, row.sealed)

      const lastRow = rows.at(-1)
      if (lastRow !== undefined && rows.length >= compactAfter && refused.length === 0) {
        // Compacting past a refused row would delete bytes that a later key may still open.
        const merged = Y.mergeUpdates(updates)
        compactTx(doc, sealSnapshot(doc, merged), lastRow.seq)
        return { updates: [merged], refused }
      }
      return { updates, refused }
    },

    pending(doc) {
      assertDoc(doc)
      return (countPending.get({ doc }) as { n: number }).n
    },

    compact(doc, state, uptoSeq) {
      assertDoc(doc)
      if (!Number.isSafeInteger(uptoSeq) || uptoSeq < 0) {
        throw new ModelInputInvalidError('uptoSeq', 'must be a non-negative integer')
      }
      if (!(state instanceof Uint8Array)) throw new ModelInputInvalidError('state', 'must be a Uint8Array')
      compactTx(doc, sealSnapshot(doc, state), uptoSeq)
    },

    lastSeq(doc) {
      assertDoc(doc)
      return lastSeqOf(doc)
    },

    reseal() {
      return resealTx()
    },
  }
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

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
