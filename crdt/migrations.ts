/**
 * Schema migrations of state.db, applied in order, each in its own transaction.
 * A migration is never edited once released: add a new one instead.
 */
import type Database from 'better-sqlite3'

export interface Migration {
  version: number
  name: string
  up(db: Database.Database): void
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'node metadata',
    up(db) {
      db.exec(`
        CREATE TABLE node_meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT;
      `)
    },
  },
  {
    version: 2,
    name: 'roster update log',
    up(db) {
      db.exec(`
        CREATE TABLE roster_updates (
          seq    INTEGER PRIMARY KEY AUTOINCREMENT,
          data   BLOB NOT NULL
        ) STRICT;
      `)
    },
  },
  {
    version: 3,
    name: 'sealed document update log and snapshots',
    up(db) {
      db.exec(`
        CREATE TABLE doc_updates (
          seq    INTEGER PRIMARY KEY AUTOINCREMENT,
          doc    TEXT NOT NULL,
          sealed BLOB NOT NULL
        ) STRICT;
        CREATE INDEX doc_updates_by_doc ON doc_updates (doc, seq);
        CREATE TABLE doc_snapshots (
          doc      TEXT PRIMARY KEY,
          sealed   BLOB NOT NULL,
          upto_seq INTEGER NOT NULL
        ) STRICT;
      `)
    },
  },
  {
    version: 4,
    name: 'update rows and snapshots that hold several updates',
    up(db) {
      // A row of a group commit holds every update of its document in that group, and a
      // snapshot may be stored as pieces applied one after the other; 1 is a single update,
      // as every row and snapshot before this migration (document-store.ts).
      db.exec(`
        ALTER TABLE doc_updates ADD COLUMN updates INTEGER NOT NULL DEFAULT 1 CHECK (updates >= 1);
        ALTER TABLE doc_snapshots ADD COLUMN pieces INTEGER NOT NULL DEFAULT 1 CHECK (pieces >= 1);
      `)
    },
  },
]
