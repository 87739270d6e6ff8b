/**
 * The full-text search index over memory: derived data, never a source of truth. It holds
 * nothing the memory document does not, lives in its own SQLite connection (by default
 * `:memory:`, so no plaintext memory reaches the disk) and can be dropped and rebuilt at any
 * time. It is filled from the model on first use (the first search, size or rebuild), not
 * when created, so a node starts without indexing every entry; that fill is synchronous, so
 * the first search sees every committed entry. `warm` instead fills it in the background, a
 * chunk of entries per turn of the event loop, so that a large memory neither makes the first
 * search wait nor blocks the node (a leader's heartbeats) for long. `filled()` resolves when
 * that fill ends: the API awaits it before a search, so a search made meanwhile waits for the
 * fill (the event loop runs on) rather than finishing it; a synchronous search before it ends
 * still finishes it at once, holding the loop. Entries changed during the fill are queued like any
 * change, and the fill skips every id already indexed. From then on it follows `model.onChange`: the ids
 * each change batch touches are queued, and the queue is applied as one SQLite transaction (a
 * delete and a re-insert per id) before the next search or size, or once it holds
 * `APPLY_AFTER` ids. A burst of single-entry writes so costs one index transaction, not one
 * each, and every search still sees every change made before it.
 *
 * Table: the FTS5 table `memory_fts(id UNINDEXED, topic UNINDEXED, text, tags)` with the
 * tokenizer `unicode61 remove_diacritics 2` and no stemmer: "cafe" finds "café", but
 * "running" does not find "run". Matches in text weigh twice those in tags.
 *
 * Queries are free text. Each run of letters, digits and combining marks becomes one quoted
 * FTS5 string, so FTS syntax (AND, OR, NOT, NEAR, *, :, -, ^, parentheses, quotes) is only
 * ever matched as words or dropped; all words must match. At most 64 distinct words count.
 */
import Database from 'better-sqlite3'
import { DocumentsClosedError, ModelInputInvalidError } from './errors.js'
import type { MemoryEntry, MemoryModel } from './memory-model.js'

export interface SearchResult {
  id: string
  text: string
  topic: string
  /** Higher is better: the negated FTS5 bm25 rank. */
  score: number
  /** About 12 tokens of the text around the hits, hits in [ ], elisions as …. */
  snippet: string
}

export interface SearchOptions {
  /** Default 10, at most 100. */
  limit?: number
  /** Only entries of this topic. */
  topic?: string
  /** Entries holding any of the words (best: the most, the rarest), not all of them. */
  any?: boolean
}

export interface MemoryIndex {
  /** Drops the tables and refills them from `model.all()` in one transaction; returns the count. */
  rebuild(): number
  /** Best matches first (ties by id). Throws ModelInputInvalidError('query') when the query has no words. */
  search(query: string, options?: SearchOptions): SearchResult[]
  size(): number
  /**
   * Starts filling in the background: `schedule` runs a step later (a Clock's setTimeout 0),
   * each step indexes `chunk` entries. Does nothing if the index is filled or filling.
   */
  warm(schedule: (step: () => void) => { cancel(): void }, chunk?: number): void
  /** Whether every entry is indexed already (no fill is outstanding), so a search now does no fill. */
  isFilled(): boolean
  /**
   * Resolves once every entry is indexed: when the background fill ends, or at once when there
   * is none to wait for (with no `warm` before, it fills now, synchronously). Rejects with
   * DocumentsClosedError when the index is closed first.
   */
  filled(): Promise<void>
  /** Stops following the model; closes the connection if the index opened it. Idempotent. */
  close(): void
}

export interface MemoryIndexDeps {
  model: MemoryModel
  /** A connection to index into; default a private `:memory:` one. A given one is not closed by close(). */
  db?: Database.Database
}

export const MEMORY_SEARCH_LIMITS = { defaultLimit: 10, maxLimit: 100, maxQueryLength: 20_000, maxWords: 64 } as const

/** Queued ids after which the queue is applied without waiting for a search. */
const APPLY_AFTER = 1024

const SCHEMA = `
  CREATE VIRTUAL TABLE memory_fts USING fts5(
    id UNINDEXED, topic UNINDEXED, text, tags,
    tokenize = 'unicode61 remove_diacritics 2'
  );
`
// memory_rows: the id table of earlier versions, for a connection that still holds one.
const DROP = 'DROP TABLE IF EXISTS memory_fts; DROP TABLE IF EXISTS memory_rows;'

const RANK = 'bm25(memory_fts, 0.0, 0.0, 1.0, 0.5)'
const SEARCH_COLUMNS = `id, text, topic, -${RANK} AS score, snippet(memory_fts, 2, '[', ']', '…', 12) AS snippet`
const SEARCH_ALL = `SELECT ${SEARCH_COLUMNS} FROM memory_fts WHERE memory_fts MATCH ? ORDER BY ${RANK}, id LIMIT ?`
const SEARCH_TOPIC = `SELECT ${SEARCH_COLUMNS} FROM memory_fts WHERE memory_fts MATCH ? AND topic = ? ORDER BY ${RANK}, id LIMIT ?`

export function createMemoryIndex(deps: MemoryIndexDeps): MemoryIndex {
  const { model } = deps
  const owned = deps.db === undefined
  const db = deps.db ?? new Database(':memory:')
  let closed = false

  // The tables must exist before statements on them can be prepared; refill recreates them.
  db.exec(DROP)
  db.exec(SCHEMA)
  // Prepared once: SQLite re-prepares them when rebuild drops and recreates their tables.
  const deleteFts = db.prepare('DELETE FROM memory_fts WHERE rowid = ?')
  const insertFts = db.prepare('INSERT INTO memory_fts (rowid, id, topic, text, tags) VALUES (?, ?, ?, ?, ?)')
  const count = db.prepare('SELECT count(*) AS n FROM memory_fts')
  const searchAll = db.prepare(SEARCH_ALL)
  const searchTopic = db.prepare(SEARCH_TOPIC)

  // Entry id → its FTS rowid, so a delete is a rowid lookup rather than a scan. Kept in
  // JavaScript: a UNIQUE index on the id cost as much as the full-text insert itself.
  const rows = new Map<string, number>()
  let nextRow = 1
  const queued = new Set<string>()

  const insert = (e: MemoryEntry): void => {
    const row = nextRow++
    rows.set(e.id, row)
    insertFts.run(row, e.id, e.topic, e.text, e.tags.join(' '))
  }

  let filled = false
  /** Ids a background fill has still to index (from position `next`), or null when none runs. */
  let filling: { ids: string[]; next: number } | null = null
  let pendingStep: { cancel(): void } | null = null
  let fillWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = []
  const fillEnded = (): void => {
    const waiting = fillWaiters
    fillWaiters = []
    for (const w of waiting) w.resolve()
  }
  const reset = (): void => {
    db.exec(DROP)
    db.exec(SCHEMA)
    rows.clear()
    queued.clear()
    nextRow = 1
  }
  const refill = db.transaction((): number => {
    filled = true
    filling = null
    reset()
    const entries = model.all()
    for (const e of entries) insert(e)
    return entries.length
  })
  /** Indexes up to `count` more ids of the background fill; an id the queue already indexed is skipped. */
  const fillSome = db.transaction((count: number) => {
    if (filling === null) return
    const end = Math.min(filling.ids.length, filling.next + count)
    for (let i = filling.next; i < end; i++) {
      const id = filling.ids[i] as string
      if (rows.has(id)) continue
      const entry = model.get(id)
      if (entry !== undefined) insert(entry)
    }
    filling.next = end
    if (end === filling.ids.length) {
      filling = null
      filled = true
    }
  })

  const applyQueued = db.transaction(() => {
    for (const id of queued) {
      const row = rows.get(id)
      if (row !== undefined) {
        deleteFts.run(row)
        rows.delete(id)
      }
      const entry = model.get(id)
      if (entry !== undefined) insert(entry)
    }
    queued.clear()
  })
  const settle = (): void => {
    if (filling !== null) fillSome(Number.MAX_SAFE_INTEGER)
    if (!filled) refill()
    else if (queued.size > 0) applyQueued()
    if (filling === null) fillEnded()
  }

  const unsubscribe = model.onChange(({ changed, deleted }) => {
    // Before any fill there is nothing to keep current: a fill reads the model as it is then.
    if (closed || (!filled && filling === null)) return
    for (const id of changed) queued.add(id)
    for (const id of deleted) queued.add(id)
    if (queued.size >= APPLY_AFTER) applyQueued()
  })

  return {
    rebuild() {
      const count = refill()
      fillEnded()
      return count
    },

    search(query, options = {}) {
      const match = toMatchExpression(query, options.any === true)
      const limit = checkLimit(options.limit)
      settle()
      const rows =
        options.topic === undefined
          ? searchAll.all(match, limit)
          : searchTopic.all(match, checkTopicFilter(options.topic), limit)
      return rows as SearchResult[]
    },

    size() {
      settle()
      return (count.get() as { n: number }).n
    },

    isFilled: () => filled,

    filled() {
      if (closed) return Promise.reject(new DocumentsClosedError())
      if (filled && filling === null) return Promise.resolve()
      if (filling === null) {
        settle()
        return Promise.resolve()
      }
      return new Promise<void>((resolve, reject) => void fillWaiters.push({ resolve, reject }))
    },

    warm(schedule, chunk = 2000) {
      if (closed || filled || filling !== null) return
      reset()
      filling = { ids: model.ids(), next: 0 }
      const step = (): void => {
        pendingStep = null
        if (closed || filling === null) return
        fillSome(chunk)
        if (filling !== null) pendingStep = schedule(step)
        else fillEnded()
      }
      pendingStep = schedule(step)
    },

    close() {
      if (closed) return
      // A given connection keeps the index as of close: everything changed before it.
      if (!owned) settle()
      closed = true
      for (const w of fillWaiters.splice(0)) w.reject(new DocumentsClosedError())
      pendingStep?.cancel()
      pendingStep = null
      unsubscribe()
      if (owned) db.close()
    },
  }
}

/**
 * Turns free text into a safe FTS5 MATCH expression: each word (a run of letters, digits and
 * combining marks holding at least one letter or digit) as a double-quoted string, joined by
 * spaces (FTS5's implicit AND), or by OR when `any`. No other character reaches FTS5, so no
 * query can be a syntax error.
 */
export function toMatchExpression(query: string, any = false): string {
  if (typeof query !== 'string') throw new ModelInputInvalidError('query', 'must be a string')
  if (query.length > MEMORY_SEARCH_LIMITS.maxQueryLength) {
    throw new ModelInputInvalidError('query', `must be at most ${MEMORY_SEARCH_LIMITS.maxQueryLength} characters`)
  }
  const words = new Set<string>()
  for (const word of query.match(/[\p{L}\p{N}\p{M}]+/gu) ?? []) {
    if (!/[\p{L}\p{N}]/u.test(word)) continue
    words.add(word)
    if (words.size === MEMORY_SEARCH_LIMITS.maxWords) break
  }
  if (words.size === 0) throw new ModelInputInvalidError('query', 'holds no word to search for')
  return [...words].map((w) => `"${w}"`).join(any ? ' OR ' : ' ')
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return MEMORY_SEARCH_LIMITS.defaultLimit
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MEMORY_SEARCH_LIMITS.maxLimit) {
    throw new ModelInputInvalidError('limit', `must be a whole number from 1 to ${MEMORY_SEARCH_LIMITS.maxLimit}`)
  }
  return limit
}

function checkTopicFilter(topic: unknown): string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > 100) {
    throw new ModelInputInvalidError('topic', 'must be a string of 1-100 characters')
  }
  return topic
}
