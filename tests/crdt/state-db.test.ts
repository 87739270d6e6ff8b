import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openStateDb, type Migration } from '../../crdt/index.js'
import { tempDir } from '../support/temp-dir.js'

describe('state.db', () => {
  it('opens in WAL mode and records the applied migrations', () => {
    const path = join(tempDir(), 'state.db')
    const state = openStateDb(path, 1000)
    try {
      expect(state.db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(state.schemaVersion()).toBeGreaterThanOrEqual(1)
      expect(state.appliedMigrations()[0]).toEqual({ version: 1, name: 'node metadata', appliedAt: 1000 })
    } finally {
      state.close()
    }
  })

  it('fsyncs every commit (synchronous=FULL) by default, and only with process-crash durability drops to NORMAL', () => {
    const dir = tempDir()
    const strict = openStateDb(join(dir, 'a.db'), 0)
    const relaxed = openStateDb(join(dir, 'b.db'), 0, { durability: 'process-crash' })
    try {
      // SQLite reports synchronous as a number: 2 is FULL, 1 is NORMAL.
      expect(strict.db.pragma('synchronous', { simple: true })).toBe(2)
      expect(strict.durability).toBe('power-loss')
      expect(relaxed.db.pragma('synchronous', { simple: true })).toBe(1)
      expect(relaxed.durability).toBe('process-crash')
    } finally {
      strict.close()
      relaxed.close()
    }
  })

  it('has FTS5, which the memory search index needs', () => {
    const state = openStateDb(join(tempDir(), 'state.db'), 0)
    try {
      expect(state.hasFts5()).toBe(true)
      state.db.exec("CREATE VIRTUAL TABLE notes USING fts5(body); INSERT INTO notes VALUES ('the quick brown fox')")
      const hit = state.db.prepare("SELECT body FROM notes WHERE notes MATCH 'quick'").get() as { body: string }
      expect(hit.body).toBe('the quick brown fox')
    } finally {
      state.close()
    }
  })

  it('applies only new migrations on reopen and keeps data', () => {
    const path = join(tempDir(), 'state.db')
    const base: Migration = { version: 1, name: 'node metadata', up: (db) => db.exec('CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT') }
    const first = openStateDb(path, 1, { migrations: [base] })
    first.setMeta('k', 'v')
    first.close()
    const extra: Migration = { version: 2, name: 'extra', up: (db) => db.exec('CREATE TABLE extra (x INTEGER) STRICT') }
    const second = openStateDb(path, 2, { migrations: [base, extra] })
    try {
      expect(second.getMeta('k')).toBe('v')
      expect(second.appliedMigrations().map((m) => m.version)).toEqual([1, 2])
    } finally {
      second.close()
    }
  })

  it('refuses a database written by a newer schema', () => {
    const path = join(tempDir(), 'state.db')
    const extra: Migration = { version: 99, name: 'future', up: () => undefined }
    const future = openStateDb(path, 1, { migrations: [{ version: 1, name: 'node metadata', up: (db) => db.exec('CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT') }, extra] })
    future.close()
    expect(() => openStateDb(path, 2)).toThrowError(expect.objectContaining({ code: 'STATE_DB_TOO_NEW' }))
  })

  it('refuses a file that is not a SQLite database with a clear message', () => {
    const path = join(tempDir(), 'state.db')
    writeFileSync(path, 'this is not sqlite'.repeat(100))
    expect(() => openStateDb(path, 0)).toThrowError(expect.objectContaining({ code: 'STATE_DB_OPEN_FAILED', message: expect.stringContaining('not a SQLite database') }))
  })

  it('rolls back a failing migration as a whole', () => {
    const path = join(tempDir(), 'state.db')
    const broken: Migration = {
      version: 2,
      name: 'broken',
      up: (db) => {
        db.exec('CREATE TABLE half (x INTEGER)')
        throw new Error('boom')
      },
    }
    const first: Migration = { version: 1, name: 'node metadata', up: (db) => db.exec('CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT') }
    expect(() => openStateDb(path, 0, { migrations: [first, broken] })).toThrow()
    const state = openStateDb(path, 0, { migrations: [first] })
    try {
      expect(state.schemaVersion()).toBe(1)
      expect(state.db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined()
    } finally {
      state.close()
    }
  })
})
