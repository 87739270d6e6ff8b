/**
 * The storage port under the document store: what document-store.ts needs to keep the sealed
 * update log of the agent's documents, and nothing more. It stores bytes it cannot read
 * (sealing and opening are the store's): rows of sealed updates, each holding `updates`
 * updates, and at most one sealed snapshot per document that stands for every row of that
 * document up to `uptoSeq`.
 *
 * Contract (tests/contract/document-storage.contract.ts runs it against every adapter):
 * - `seq` is one sequence shared by all documents: rising, never reused, not even for the seq
 *   of a row that compaction deleted.
 * - `append` stores all its rows or none (the group commit); once it returns they survive what
 *   `durability` says. A row holds at least one update.
 * - A read returns rows in seq order, and bytes equal to those stored; a caller may keep them.
 * - `replaceWithSnapshot` writes the snapshot and deletes the rows it covers as one step: after
 *   a crash there is the old snapshot and its rows, or the new snapshot. The snapshot's mark
 *   never moves back.
 * - `rewrite` replaces bytes in place (re-sealing after a key rotation), all or none.
 *
 * Adapters: createSqliteDocumentStorage (state.db; the tables of migrations 3 and 4) and
 * createMemoryDocumentStorage (nothing survives the process).
 */
import { ModelInputInvalidError } from './errors.js'
import type { Durability } from './state-db.js'

/** What an acknowledged write survives: as state.db's setting, or 'none' for memory. */
export type StorageDurability = Durability | 'none'

export interface StoredRow {
  seq: number
  doc: string
  sealed: Uint8Array
  /** Updates the row holds (1, or several packed by a group commit). */
  updates: number
}

export interface StoredSnapshot {
  doc: string
  sealed: Uint8Array
  /** The seq of the last row it stands for. */
  uptoSeq: number
  /** Updates (pieces) it holds. */
  pieces: number
}

export interface NewRow {
  doc: string
  sealed: Uint8Array
  updates: number
}

/** One stored item handed to `rewrite`: a row (by seq) or a document's snapshot. */
export type StoredItem =
  | { kind: 'row'; seq: number; doc: string; sealed: Uint8Array; count: number }
  | { kind: 'snapshot'; doc: string; sealed: Uint8Array; count: number }

export interface DocumentStorage {
  readonly durability: StorageDurability
  /**
   * Stores `rows` in one transaction, all or none, and returns their seqs in order once
   * committed. ModelInputInvalidError when a row's bytes are not a Uint8Array or its count is
   * not a positive integer (nothing is stored then).
   */
  append(rows: readonly NewRow[]): number[]
  /** The document's snapshot, or undefined when it has none. */
  snapshot(doc: string): StoredSnapshot | undefined
  /** Up to `limit` rows of `doc` with a seq above `afterSeq`, in seq order. */
  rows(doc: string, afterSeq: number, limit: number): StoredRow[]
  /** The snapshot and every row after its mark, read as one consistent state. */
  read(doc: string): { snapshot: StoredSnapshot | undefined; rows: StoredRow[] }
  /** Sum of `updates` over the rows after the snapshot's mark. */
  pendingUpdates(doc: string): number
  /** Highest seq of the document, in its rows or its snapshot's mark; 0 if none. */
  lastSeq(doc: string): number
  /**
   * Sets the document's snapshot (its mark the larger of `uptoSeq` and the old mark) and deletes
   * its rows up to `uptoSeq`, in one transaction. ModelInputInvalidError('uptoSeq') when it is
   * past `lastSeq(doc)`, ModelInputInvalidError('snapshot') when the bytes or count are bad;
   * nothing changes then.
   */
  replaceWithSnapshot(doc: string, snapshot: { sealed: Uint8Array; pieces: number }, uptoSeq: number): void
  /**
   * Hands every row (in seq order) and then every snapshot (by document) to `fn`, and stores the
   * bytes it returns in place of the item's (undefined keeps them), in one transaction: when `fn`
   * throws, nothing changes and the error goes to the caller. Returns how many were replaced.
   */
  rewrite(fn: (item: StoredItem) => Uint8Array | undefined): number
}

/** What every adapter checks of rows before it stores any (the SQLite CHECK would throw a foreign error). */
export function checkNewRows(rows: readonly NewRow[]): void {
  for (const row of rows) {
    if (typeof row.doc !== 'string' || row.doc.length === 0) throw new ModelInputInvalidError('doc', 'must be a non-empty string')
    checkSealed(row.sealed, row.updates, 'row')
  }
}

export function checkSealed(sealed: unknown, count: unknown, field: string): void {
  if (!(sealed instanceof Uint8Array)) throw new ModelInputInvalidError(field, 'its bytes must be a Uint8Array')
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw new ModelInputInvalidError(field, 'must hold a positive whole number of updates')
}
