/**
 * state.db: one SQLite file in the data directory, in WAL mode, with a migrations table.
 * Document update logs, snapshots and derived indexes live here as later migrations add them.
 */
import { closeSync, existsSync, openSync } from 'node:fs'
import Database from 'better-sqlite3'
import { StateDbOpenError, StateDbTooNewError } from './errors.js'
import { migrations as defaultMigrations, type Migration } from './migrations.js'

export interface StateDbOptions {
  /** Migrations to apply; defaults to the released ones. */
  migrations?: readonly Migration[]
  /** Milliseconds SQLite waits on a locked database. */
  busyTimeoutMs?: number
  /**
   * What an acknowledged commit survives. 'power-loss' (the default): SQLite's
   * synchronous=FULL, the WAL is fsynced at every commit, so a commit survives a power cut or
   * an OS crash. 'process-crash': synchronous=NORMAL, the commit is in the WAL file (the OS
   * has it) when the call returns, so a killed process loses nothing, but a power cut can lose
   * the last commits (never corrupt the file).
   */
  durability?: Durability
}

export type Durability = 'power-loss' | 'process-crash'

export interface AppliedMigration {
  version: number
  name: string
  appliedAt: number
}

export interface StateDb {
  readonly path: string
  readonly db: Database.Database
  readonly durability: Durability
  /** Highest applied migration version. */
  schemaVersion(): number
  appliedMigrations(): AppliedMigration[]
  getMeta(key: string): string | undefined
  setMeta(key: string, value: string): void
  /** Whether this SQLite build has FTS5 (the memory search index needs it). */
  hasFts5(): boolean
  close(): void
}

export function openStateDb(path: string, now: number, options: StateDbOptions = {}): StateDb {
  const list = [...(options.migrations ?? defaultMigrations)].sort((a, b) => a.version - b.version)
  let db: Database.Database
  try {
    // Create the file 0600 ourselves: SQLite gives its -wal and -shm files the same mode.
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600))
    db = new Database(path, { fileMustExist: false })
  } catch (err) {
    throw new StateDbOpenError(path, describe(err), { cause: err })
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${(options.durability ?? 'power-loss') === 'power-loss' ? 'FULL' : 'NORMAL'}`)
    db.pragma('foreign_keys = ON')
    db.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT;
    `)
    const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0
    const known = list.at(-1)?.version ?? 0
    if (current > known) throw new StateDbTooNewError(path, current, known)
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const migration of list) {
      if (migration.version <= current) continue
      db.transaction(() => {
        migration.up(db)
        record.run(migration.version, migration.name, now)
      })()
    }
  } catch (err) {
    db.close()
    if (err instanceof StateDbTooNewError) throw err
    throw new StateDbOpenError(path, describe(err), { cause: err })
  }

  const getMeta = db.prepare('SELECT value FROM node_meta WHERE key = ?')
  const setMeta = db.prepare(
    'INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  )
  let closed = false

  return {
    path,
    db,
    durability: options.durability ?? 'power-loss',
    schemaVersion: () =>
      (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0,
    appliedMigrations: () =>
      (
        db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as Array<{
          version: number
          name: string
          applied_at: number
        }>
      ).map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at })),
    getMeta: (key) => (getMeta.get(key) as { value: string } | undefined)?.value,
    setMeta: (key, value) => {
      setMeta.run(key, value)
    },
    hasFts5: () => {
      try {
        db.exec('CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(body); DROP TABLE temp.fts5_probe;')
        return true
      } catch {
        return false
      }
    },
    close: () => {
      if (closed) return
      closed = true
      db.close()
    },
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code
    if (code === 'SQLITE_NOTADB') return 'the file is not a SQLite database'
    if (code === 'SQLITE_CANTOPEN') return 'the file cannot be opened (missing folder or no permission)'
    if (code === 'SQLITE_CORRUPT') return 'the database file is corrupt'
    return err.message
  }
  return String(err)
}
