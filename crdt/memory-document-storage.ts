/**
 * The document storage port in memory, for tests and for a process whose documents need not
 * outlive it. Same contract as state.db's (tests/contract/document-storage.contract.ts), with
 * durability 'none'. Bytes are copied in and out, so a caller that changes a buffer it handed
 * over or got back changes nothing stored.
 */
import { type DocumentStorage, type StoredItem, type StoredRow, type StoredSnapshot, checkNewRows, checkSealed } from './document-storage.js'
import { ModelInputInvalidError } from './errors.js'

export function createMemoryDocumentStorage(): DocumentStorage {
  /** Per document, its rows in seq order (appends only ever add higher seqs). */
  const rowsByDoc = new Map<string, StoredRow[]>()
  const snapshots = new Map<string, StoredSnapshot>()
  let nextSeq = 1

  const copyRow = (r: StoredRow): StoredRow => ({ ...r, sealed: r.sealed.slice() })
  const snapshotOf = (doc: string): StoredSnapshot | undefined => {
    const s = snapshots.get(doc)
    return s === undefined ? undefined : { ...s, sealed: s.sealed.slice() }
  }
  const rowsOf = (doc: string, afterSeq: number, limit: number): StoredRow[] => {
    const list = rowsByDoc.get(doc) ?? []
    // The first row above afterSeq, by bisection: a load reads a long log a page at a time.
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((list[mid] as StoredRow).seq > afterSeq) hi = mid
      else lo = mid + 1
    }
    return list.slice(lo, lo + Math.max(0, limit)).map(copyRow)
  }
  const lastSeqOf = (doc: string): number => Math.max(rowsByDoc.get(doc)?.at(-1)?.seq ?? 0, snapshots.get(doc)?.uptoSeq ?? 0)

  return {
    durability: 'none',
    append(rows) {
      checkNewRows(rows)
      return rows.map((row) => {
        const seq = nextSeq++
        const list = rowsByDoc.get(row.doc) ?? []
        list.push({ seq, doc: row.doc, sealed: row.sealed.slice(), updates: row.updates })
        rowsByDoc.set(row.doc, list)
        return seq
      })
    },
    snapshot: snapshotOf,
    rows: rowsOf,
    read(doc) {
      const snapshot = snapshotOf(doc)
      return { snapshot, rows: rowsOf(doc, snapshot?.uptoSeq ?? 0, Number.MAX_SAFE_INTEGER) }
    },
    pendingUpdates(doc) {
      const mark = snapshots.get(doc)?.uptoSeq ?? 0
      let n = 0
      for (const row of rowsByDoc.get(doc) ?? []) if (row.seq > mark) n += row.updates
      return n
    },
    lastSeq: lastSeqOf,
    replaceWithSnapshot(doc, snapshot, uptoSeq) {
      checkSealed(snapshot.sealed, snapshot.pieces, 'snapshot')
      const last = lastSeqOf(doc)
      if (uptoSeq > last) throw new ModelInputInvalidError('uptoSeq', `${uptoSeq} is past the last seq ${last} of ${doc}`)
      const previous = snapshots.get(doc)?.uptoSeq ?? 0
      snapshots.set(doc, { doc, sealed: snapshot.sealed.slice(), uptoSeq: Math.max(uptoSeq, previous), pieces: snapshot.pieces })
      const kept = (rowsByDoc.get(doc) ?? []).filter((r) => r.seq > uptoSeq)
      if (kept.length > 0) rowsByDoc.set(doc, kept)
      else rowsByDoc.delete(doc)
    },
    rewrite(fn) {
      // Every replacement is worked out first and stored only once `fn` has seen every item, so
      // an `fn` that throws leaves everything as it was.
      const rows = [...rowsByDoc.values()].flat().sort((a, b) => a.seq - b.seq)
      const changes: Array<{ item: StoredItem; sealed: Uint8Array }> = []
      for (const row of rows) {
        const item: StoredItem = { kind: 'row', seq: row.seq, doc: row.doc, sealed: row.sealed.slice(), count: row.updates }
        const next = fn(item)
        if (next !== undefined) changes.push({ item, sealed: next.slice() })
      }
      for (const doc of [...snapshots.keys()].sort()) {
        const snap = snapshots.get(doc) as StoredSnapshot
        const item: StoredItem = { kind: 'snapshot', doc, sealed: snap.sealed.slice(), count: snap.pieces }
        const next = fn(item)
        if (next !== undefined) changes.push({ item, sealed: next.slice() })
      }
      for (const { item, sealed } of changes) {
        if (item.kind === 'snapshot') (snapshots.get(item.doc) as StoredSnapshot).sealed = sealed
        else {
          const seq = item.seq
          const row = (rowsByDoc.get(item.doc) as StoredRow[]).find((r) => r.seq === seq) as StoredRow
          row.sealed = sealed
        }
      }
      return changes.length
    },
  }
}
