/**
 * The document storage port on state.db: rows in `doc_updates` (seq AUTOINCREMENT, so a seq is
 * never reused), snapshots in `doc_snapshots`, as migrations 3 and 4 laid them out. Every write
 * is one SQLite transaction, committed with the StateDb's durability; a read of a snapshot and
 * its rows is one read transaction.
 */
import { type DocumentStorage, type StoredRow, type StoredSnapshot, checkNewRows, checkSealed } from './document-storage.js'
import { ModelInputInvalidError } from './errors.js'
import type { StateDb } from './state-db.js'

/** Rows `rewrite` reads at a time: better-sqlite3 cannot write while an iterator is open on the connection. */
const REWRITE_PAGE = 256

/** On a StateDb (or, for a reader that must not migrate, any connection to a state.db with its durability). */
export function createSqliteDocumentStorage(state: Pick<StateDb, 'db' | 'durability'>): DocumentStorage {
  const { db } = state
  const insertRow = db.prepare('INSERT INTO doc_updates (doc, sealed, updates) VALUES (?, ?, ?)')
  const selectSnapshot = db.prepare('SELECT sealed, upto_seq, pieces FROM doc_snapshots WHERE doc = ?')
  const selectRowsAfter = db.prepare('SELECT seq, sealed, updates FROM doc_updates WHERE doc = ? AND seq > ? ORDER BY seq LIMIT ?')
  const countPending = db.prepare(
    'SELECT COALESCE(SUM(updates), 0) AS n FROM doc_updates WHERE doc = @doc AND seq > COALESCE((SELECT upto_seq FROM doc_snapshots WHERE doc = @doc), 0)',
  )
  const selectLastSeq = db.prepare(
    'SELECT MAX(s) AS s FROM (SELECT MAX(seq) AS s FROM doc_updates WHERE doc = @doc UNION ALL SELECT upto_seq FROM doc_snapshots WHERE doc = @doc)',
  )
  const upsertSnapshot = db.prepare(
    'INSERT INTO doc_snapshots (doc, sealed, upto_seq, pieces) VALUES (?, ?, ?, ?) ON CONFLICT(doc) DO UPDATE SET sealed = excluded.sealed, upto_seq = excluded.upto_seq, pieces = excluded.pieces',
  )
  const deleteRowsUpTo = db.prepare('DELETE FROM doc_updates WHERE doc = ? AND seq <= ?')
  const selectPage = db.prepare('SELECT seq, doc, sealed, updates FROM doc_updates WHERE seq > ? ORDER BY seq LIMIT ?')
  const updateRow = db.prepare('UPDATE doc_updates SET sealed = ? WHERE seq = ?')
  const selectSnapshots = db.prepare('SELECT doc, sealed, pieces FROM doc_snapshots ORDER BY doc')
  const updateSnapshot = db.prepare('UPDATE doc_snapshots SET sealed = ? WHERE doc = ?')

  const snapshotOf = (doc: string): StoredSnapshot | undefined => {
    const row = selectSnapshot.get(doc) as { sealed: Buffer; upto_seq: number; pieces: number } | undefined
    return row === undefined ? undefined : { doc, sealed: row.sealed, uptoSeq: row.upto_seq, pieces: row.pieces }
  }
  const rowsOf = (doc: string, afterSeq: number, limit: number): StoredRow[] =>
    (selectRowsAfter.all(doc, afterSeq, limit) as Array<{ seq: number; sealed: Buffer; updates: number }>).map((r) => ({ seq: r.seq, doc, sealed: r.sealed, updates: r.updates }))
  const lastSeqOf = (doc: string): number => (selectLastSeq.get({ doc }) as { s: number | null }).s ?? 0

  const appendTx = db.transaction((rows: ReadonlyArray<{ doc: string; sealed: Uint8Array; updates: number }>) =>
    rows.map((row) => Number(insertRow.run(row.doc, asBuffer(row.sealed), row.updates).lastInsertRowid)),
  )
  const readTx = db.transaction((doc: string) => {
    const snapshot = snapshotOf(doc)
    return { snapshot, rows: rowsOf(doc, snapshot?.uptoSeq ?? 0, Number.MAX_SAFE_INTEGER) }
  })
  const replaceTx = db.transaction((doc: string, sealed: Uint8Array, pieces: number, uptoSeq: number) => {
    const last = lastSeqOf(doc)
    if (uptoSeq > last) throw new ModelInputInvalidError('uptoSeq', `${uptoSeq} is past the last seq ${last} of ${doc}`)
    const previous = snapshotOf(doc)?.uptoSeq ?? 0
    // Rows below an earlier snapshot's mark are already gone; never move the mark back.
    upsertSnapshot.run(doc, asBuffer(sealed), Math.max(uptoSeq, previous), pieces)
    deleteRowsUpTo.run(doc, uptoSeq)
  })
  const rewriteTx = db.transaction((fn: Parameters<DocumentStorage['rewrite']>[0]): number => {
    let count = 0
    for (let after = 0; ; ) {
      const page = selectPage.all(after, REWRITE_PAGE) as Array<{ seq: number; doc: string; sealed: Buffer; updates: number }>
      if (page.length === 0) break
      for (const row of page) {
        after = row.seq
        const next = fn({ kind: 'row', seq: row.seq, doc: row.doc, sealed: row.sealed, count: row.updates })
        if (next === undefined) continue
        updateRow.run(asBuffer(next), row.seq)
        count++
      }
    }
    for (const snap of selectSnapshots.all() as Array<{ doc: string; sealed: Buffer; pieces: number }>) {
      const next = fn({ kind: 'snapshot', doc: snap.doc, sealed: snap.sealed, count: snap.pieces })
      if (next === undefined) continue
      updateSnapshot.run(asBuffer(next), snap.doc)
      count++
    }
    return count
  })

  return {
    durability: state.durability,
    append(rows) {
      checkNewRows(rows)
      return rows.length === 0 ? [] : appendTx(rows)
    },
    snapshot: snapshotOf,
    rows: rowsOf,
    read: (doc) => readTx(doc),
    pendingUpdates: (doc) => (countPending.get({ doc }) as { n: number }).n,
    lastSeq: lastSeqOf,
    replaceWithSnapshot(doc, snapshot, uptoSeq) {
      checkSealed(snapshot.sealed, snapshot.pieces, 'snapshot')
      replaceTx(doc, snapshot.sealed, snapshot.pieces, uptoSeq)
    },
    rewrite: (fn) => rewriteTx(fn),
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
