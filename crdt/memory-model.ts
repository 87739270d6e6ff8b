/**
 * The agent's memory as a typed facade over a Yjs document. Callers never see a Y type.
 *
 * Layout: `doc.getMap('entries')` maps an entry id to a nested Y.Map with one key per field:
 *   topic     string, 1-100 chars of [A-Za-z0-9 ._/-], no leading or trailing space
 *   text      string, 1-20000 UTF-16 code units, not only whitespace
 *   tags      JSON string of string[] (at most 32 distinct tags, each 1-50 chars, no control
 *             characters, no leading or trailing space). A JSON string rather than a Y.Array:
 *             the tag list is one last-writer-wins value, so two machines retagging an entry
 *             at once converge to one of the two lists instead of a merged list with doubles.
 *   author    machine id of the writer that added the entry
 *   createdAt, updatedAt  numbers (ms since the epoch, from the caller's clock)
 * Per-field keys mean concurrent edits of different fields both survive; concurrent edits of
 * the same field converge by Yjs's last-writer-wins. A forget concurrent with an update wins.
 *
 * Entries that a remote writer left malformed are invisible (get → undefined, never listed).
 */
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { MemoryEntryNotFoundError, ModelInputInvalidError } from './errors.js'

export interface MemoryEntry {
  id: string
  topic: string
  text: string
  tags: string[]
  author: string
  createdAt: number
  updatedAt: number
}

export interface MemoryChange {
  /** Ids added or modified; each is present when the listener runs. */
  changed: string[]
  /** Ids no longer present. */
  deleted: string[]
}

export interface MemoryModel {
  /** Adds an entry and returns its id. Throws ModelInputInvalidError naming the bad field. */
  add(input: { text: string; topic: string; tags?: string[]; author: string }, now: number): string
  /** Writes only the fields that differ, plus updatedAt. MemoryEntryNotFoundError if absent. */
  update(id: string, patch: { text?: string; topic?: string; tags?: string[] }, now: number): MemoryEntry
  /** Deletes an entry; MemoryEntryNotFoundError if absent. */
  forget(id: string): void
  get(id: string): MemoryEntry | undefined
  /** Entries of one topic, most recently updated first (ties: newest createdAt, then id). */
  listByTopic(topic: string): MemoryEntry[]
  /** Each topic with its entry count, most entries first (ties: topic name). */
  topics(): Array<{ topic: string; count: number }>
  /** Every entry, oldest createdAt first (ties: id). */
  all(): MemoryEntry[]
  size(): number
  /** Fires after every transaction that touched entries (local or remote). Returns unsubscribe. */
  onChange(fn: (e: MemoryChange) => void): () => void
}

export interface MemoryModelDeps {
  /** New entry ids; default 16 random bytes as hex. */
  id?: () => string
}

export const MEMORY_LIMITS = {
  topicLength: 100,
  textLength: 20_000,
  tags: 32,
  tagLength: 50,
  machineIdLength: 128,
} as const

const TOPIC = /^[A-Za-z0-9 ._/-]+$/
const MACHINE_ID = /^[A-Za-z0-9._-]+$/
const CONTROL = /[\u0000-\u001f\u007f]/

export function createMemoryModel(doc: Y.Doc, deps: MemoryModelDeps = {}): MemoryModel {
  const entries = doc.getMap<Y.Map<unknown>>('entries')
  const newId = deps.id ?? (() => randomBytes(16).toString('hex'))

  const read = (id: string): MemoryEntry | undefined => {
    const m = entries.get(id)
    return m instanceof Y.Map ? decodeEntry(id, m) : undefined
  }

  const everything = (): MemoryEntry[] => {
    const out: MemoryEntry[] = []
    for (const id of entries.keys()) {
      const e = read(id)
      if (e !== undefined) out.push(e)
    }
    return out
  }

  return {
    add(input, now) {
      checkObject(input, 'input')
      const text = checkText(input.text)
      const topic = checkTopic(input.topic, 'topic')
      const tags = checkTags(input.tags ?? [])
      const author = checkMachineId(input.author, 'author')
      checkTime(now, 'now')
      const id = newId()
      if (typeof id !== 'string' || id.length === 0 || entries.has(id)) {
        throw new ModelInputInvalidError('id', 'the id generator returned an empty or taken id')
      }
      doc.transact(() => {
        const m = new Y.Map<unknown>()
        m.set('topic', topic)
        m.set('text', text)
        m.set('tags', JSON.stringify(tags))
        m.set('author', author)
        m.set('createdAt', now)
        m.set('updatedAt', now)
        entries.set(id, m)
      })
      return id
    },

    update(id, patch, now) {
      checkId(id)
      checkObject(patch, 'patch')
      const text = patch.text === undefined ? undefined : checkText(patch.text)
      const topic = patch.topic === undefined ? undefined : checkTopic(patch.topic, 'topic')
      const tags = patch.tags === undefined ? undefined : checkTags(patch.tags)
      if (text === undefined && topic === undefined && tags === undefined) {
        throw new ModelInputInvalidError('patch', 'names no field to update (text, topic or tags)')
      }
      checkTime(now, 'now')
      const current = read(id)
      const m = entries.get(id)
      if (current === undefined || !(m instanceof Y.Map)) throw new MemoryEntryNotFoundError(id)
      doc.transact(() => {
        if (text !== undefined && text !== current.text) m.set('text', text)
        if (topic !== undefined && topic !== current.topic) m.set('topic', topic)
        if (tags !== undefined && JSON.stringify(tags) !== JSON.stringify(current.tags)) m.set('tags', JSON.stringify(tags))
        m.set('updatedAt', now)
      })
      return read(id) as MemoryEntry
    },

    forget(id) {
      checkId(id)
      if (!entries.has(id)) throw new MemoryEntryNotFoundError(id)
      entries.delete(id)
    },

    get(id) {
      checkId(id)
      return read(id)
    },

    listByTopic(topic) {
      const t = checkTopic(topic, 'topic')
      return everything()
        .filter((e) => e.topic === t)
        .sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt || compareStrings(a.id, b.id))
    },

    topics() {
      const counts = new Map<string, number>()
      for (const e of everything()) counts.set(e.topic, (counts.get(e.topic) ?? 0) + 1)
      return [...counts]
        .map(([topic, count]) => ({ topic, count }))
        .sort((a, b) => b.count - a.count || compareStrings(a.topic, b.topic))
    },

    all() {
      return everything().sort((a, b) => a.createdAt - b.createdAt || compareStrings(a.id, b.id))
    },

    size() {
      return everything().length
    },

    onChange(fn) {
      const observer = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>): void => {
        const touched = new Set<string>()
        for (const event of events) {
          if (event.target === entries) {
            for (const key of event.changes.keys.keys()) touched.add(key)
          } else {
            // A nested field map changed: the first path step is the entry id.
            const head = event.path[0]
            if (typeof head === 'string') touched.add(head)
          }
        }
        if (touched.size === 0) return
        const changed: string[] = []
        const deleted: string[] = []
        for (const id of [...touched].sort(compareStrings)) (entries.has(id) ? changed : deleted).push(id)
        fn({ changed, deleted })
      }
      entries.observeDeep(observer)
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        entries.unobserveDeep(observer)
      }
    },
  }
}

function decodeEntry(id: string, m: Y.Map<unknown>): MemoryEntry | undefined {
  const topic = m.get('topic')
  const text = m.get('text')
  const author = m.get('author')
  const createdAt = m.get('createdAt')
  const updatedAt = m.get('updatedAt')
  const tags = decodeTags(m.get('tags'))
  if (
    typeof topic !== 'string' ||
    typeof text !== 'string' ||
    typeof author !== 'string' ||
    typeof createdAt !== 'number' ||
    typeof updatedAt !== 'number' ||
    tags === undefined
  ) {
    return undefined
  }
  return { id, topic, text, tags, author, createdAt, updatedAt }
}

function decodeTags(raw: unknown): string[] | undefined {
  if (typeof raw !== 'string') return undefined
  try {
    const parsed: unknown = JSON.parse(raw)
    return Array.isArray(parsed) && parsed.every((t) => typeof t === 'string') ? (parsed as string[]) : undefined
  } catch {
    return undefined
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function checkObject(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) throw new ModelInputInvalidError(field, 'must be an object')
}

function checkId(id: unknown): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new ModelInputInvalidError('id', 'must be a non-empty string of at most 256 characters')
  }
}

function checkText(text: unknown): string {
  if (typeof text !== 'string') throw new ModelInputInvalidError('text', 'must be a string')
  if (text.trim().length === 0) throw new ModelInputInvalidError('text', 'must not be empty')
  if (text.length > MEMORY_LIMITS.textLength) {
    throw new ModelInputInvalidError('text', `must be at most ${MEMORY_LIMITS.textLength} characters, got ${text.length}`)
  }
  return text
}

function checkTopic(topic: unknown, field: string): string {
  if (typeof topic !== 'string') throw new ModelInputInvalidError(field, 'must be a string')
  if (topic.length === 0 || topic.length > MEMORY_LIMITS.topicLength) {
    throw new ModelInputInvalidError(field, `must be 1-${MEMORY_LIMITS.topicLength} characters`)
  }
  if (!TOPIC.test(topic)) throw new ModelInputInvalidError(field, 'may hold only letters, digits, space and . _ / -')
  if (topic.trim() !== topic) throw new ModelInputInvalidError(field, 'must not start or end with a space')
  return topic
}

function checkTags(tags: unknown): string[] {
  if (!Array.isArray(tags)) throw new ModelInputInvalidError('tags', 'must be an array of strings')
  const out: string[] = []
  for (const tag of tags as unknown[]) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MEMORY_LIMITS.tagLength) {
      throw new ModelInputInvalidError('tags', `each tag must be a string of 1-${MEMORY_LIMITS.tagLength} characters`)
    }
    if (CONTROL.test(tag) || tag.trim() !== tag) {
      throw new ModelInputInvalidError('tags', 'a tag must not hold control characters or start or end with whitespace')
    }
    if (!out.includes(tag)) out.push(tag)
  }
  if (out.length > MEMORY_LIMITS.tags) throw new ModelInputInvalidError('tags', `at most ${MEMORY_LIMITS.tags} tags`)
  return out
}

function checkMachineId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MEMORY_LIMITS.machineIdLength || !MACHINE_ID.test(value)) {
    throw new ModelInputInvalidError(field, `must be a machine id: 1-${MEMORY_LIMITS.machineIdLength} characters of [A-Za-z0-9._-]`)
  }
  return value
}

function checkTime(value: unknown, field: string): void {
  // 8.64e15 ms is the last instant a Date can hold.
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 8.64e15) {
    throw new ModelInputInvalidError(field, 'must be a time in milliseconds since the epoch')
  }
}
