/**
 * The agent's memory as a typed facade over a Yjs document. Callers never see a Y type.
 *
 * Layout: two top-level maps of plain values (no nested Y types, so an entry costs Yjs one
 * item when added, rather than a map and six field items):
 *   `doc.getMap('entries')`  entry id → the entry as written by `add`, one object:
 *       { topic, text, tags, author, createdAt, updatedAt }
 *   `doc.getMap('edits')`    `${id}/${field}` → the field's value as last set by `update`,
 *       for field in text, topic, tags, updatedAt. It overrides the value in `entries`.
 * Fields:
 *   topic     string, 1-100 chars of [A-Za-z0-9 ._/-], no leading or trailing space
 *   text      string, 1-20000 UTF-16 code units, not only whitespace
 *   tags      string[] (at most 32 distinct tags, each 1-50 chars, no control characters, no
 *             leading or trailing space), always written whole: the tag list is one
 *             last-writer-wins value, so two machines retagging an entry at once converge to
 *             one of the two lists instead of a merged list with doubles.
 *   author    machine id of the writer that added the entry
 *   createdAt, updatedAt  numbers (ms since the epoch, from the caller's clock)
 * One `edits` key per field means concurrent edits of different fields both survive; concurrent
 * edits of the same field converge by Yjs's last-writer-wins. A forget deletes the entry and the
 * edits keys it knows, in one transaction; a forget concurrent with an update wins (the entry is
 * gone, and the update's edits keys stay behind unread: an id is never reused).
 *
 * A peer's update may hold only that (MEMORY_SCHEMA): plain values under keys of at most 256
 * (entries) or 266 (edits) characters, each at most MEMORY_VALUE_SIZE (update-schema.ts).
 *
 * Entries that a remote writer left malformed are invisible (get → undefined, never listed).
 * The decoded entries are cached (on the first listing or size(), not at load) and then kept
 * current from each transaction's changed keys, so size() and the listings do not decode the
 * whole document each time.
 */
import * as Y from 'yjs'
import { randomPooled } from '../identity/index.js'
import { MemoryEntryNotFoundError, ModelInputInvalidError } from './errors.js'
import { CONTROL_CHARACTERS, MAX_MACHINE_ID_LENGTH, checkId, checkMachineId, checkObject, checkTime, compareStrings } from './model-fields.js'
import type { DocumentSchema } from './update-schema.js'

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
  /** The id of every stored entry, without decoding any (a malformed one's included: get() answers undefined for it). */
  ids(): string[]
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
  machineIdLength: MAX_MACHINE_ID_LENGTH,
} as const

/** Room for the largest entry: text, topic, 32 tags, author and two times (plainSize). */
const MEMORY_VALUE_SIZE = 32 * 1024

/** What a peer's update of the memory document may hold (see the layout above). */
export const MEMORY_SCHEMA: DocumentSchema = {
  roots: {
    entries: { maxKeyLength: 256, value: { kind: 'plain', maxSize: MEMORY_VALUE_SIZE } },
    edits: { maxKeyLength: 256 + '/updatedAt'.length, value: { kind: 'plain', maxSize: MEMORY_VALUE_SIZE } },
    // The agent's identity text (identity-model.ts): 20,000 characters and the writer.
    agent: { maxKeyLength: 16, value: { kind: 'plain', maxSize: 20_200 } },
  },
}

const TOPIC = /^[A-Za-z0-9 ._/-]+$/

const EDITABLE = ['text', 'topic', 'tags', 'updatedAt'] as const
type Editable = (typeof EDITABLE)[number]

const editKey = (id: string, field: Editable): string => `${id}/${field}`
/** The entry id of an `edits` key: everything before the last "/" (field names hold none). */
const idOfEditKey = (key: string): string => key.slice(0, key.lastIndexOf('/'))

export function createMemoryModel(doc: Y.Doc, deps: MemoryModelDeps = {}): MemoryModel {
  const entries = doc.getMap<unknown>('entries')
  const edits = doc.getMap<unknown>('edits')
  const newId = deps.id ?? (() => Buffer.from(randomPooled(16)).toString('hex'))

  // Decoded entries share their tags array with the document's record: copy before handing out.
  const read = (id: string): MemoryEntry | undefined => decodeEntry(id, entries.get(id), edits)

  // Every id in `entries`, decoded (null when malformed), and the count of good ones. Brought
  // up to date before any observer of a transaction runs; while a transaction or its observers
  // are under way it may lag, so reads then decode directly (`settled`).
  // Filled on first use, not at load: a node starts without decoding every entry, and a
  // caller that only reads by id never pays for it.
  const cache = new Map<string, MemoryEntry | null>()
  let cacheFilled = false
  let valid = 0
  const fillCache = (): void => {
    entries.forEach((record, id) => {
      const e = decodeEntry(id, record, edits) ?? null
      cache.set(id, e)
      if (e !== null) valid++
    })
    cacheFilled = true
  }
  const refresh = (id: string): void => {
    const before = cache.get(id)
    if (before !== undefined && before !== null) valid--
    if (!entries.has(id)) {
      cache.delete(id)
      return
    }
    const now = read(id) ?? null
    cache.set(id, now)
    if (now !== null) valid++
  }
  doc.on('beforeObserverCalls', (tr: Y.Transaction) => {
    if (!cacheFilled) return
    for (const id of touchedIds(tr, entries, edits)) refresh(id)
  })
  const settled = (): boolean => doc._transaction === null && doc._transactionCleanups.length === 0

  const everything = (): MemoryEntry[] => {
    const out: MemoryEntry[] = []
    if (settled()) {
      if (!cacheFilled) fillCache()
      for (const e of cache.values()) if (e !== null) out.push(copyEntry(e))
    } else {
      entries.forEach((_, id) => {
        const e = read(id)
        if (e !== undefined) out.push(copyEntry(e))
      })
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
      entries.set(id, { topic, text, tags, author, createdAt: now, updatedAt: now })
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
      if (current === undefined) throw new MemoryEntryNotFoundError(id)
      doc.transact(() => {
        if (text !== undefined && text !== current.text) edits.set(editKey(id, 'text'), text)
        if (topic !== undefined && topic !== current.topic) edits.set(editKey(id, 'topic'), topic)
        if (tags !== undefined && JSON.stringify(tags) !== JSON.stringify(current.tags)) edits.set(editKey(id, 'tags'), tags)
        edits.set(editKey(id, 'updatedAt'), now)
      })
      return copyEntry(read(id) as MemoryEntry)
    },

    forget(id) {
      checkId(id)
      if (!entries.has(id)) throw new MemoryEntryNotFoundError(id)
      doc.transact(() => {
        entries.delete(id)
        for (const field of EDITABLE) if (edits.has(editKey(id, field))) edits.delete(editKey(id, field))
      })
    },

    get(id) {
      checkId(id)
      const e = read(id)
      return e === undefined ? undefined : copyEntry(e)
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

    ids() {
      return [...entries.keys()]
    },

    size() {
      if (!settled()) return everything().length
      if (!cacheFilled) fillCache()
      return valid
    },

    onChange(fn) {
      const listener = (tr: Y.Transaction): void => {
        const touched = touchedIds(tr, entries, edits)
        if (touched.size === 0) return
        const changed: string[] = []
        const deleted: string[] = []
        for (const id of [...touched].sort(compareStrings)) (entries.has(id) ? changed : deleted).push(id)
        fn({ changed, deleted })
      }
      doc.on('afterTransaction', listener)
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        doc.off('afterTransaction', listener)
      }
    },
  }
}

/** Entry ids whose record or edits the transaction changed. */
function touchedIds(tr: Y.Transaction, entries: Y.Map<unknown>, edits: Y.Map<unknown>): Set<string> {
  const touched = new Set<string>()
  for (const [changed, keys] of tr.changed) {
    const type: unknown = changed
    if (type === entries) for (const key of keys) key !== null && touched.add(key)
    else if (type === edits) for (const key of keys) key !== null && touched.add(idOfEditKey(key))
  }
  return touched
}

function decodeEntry(id: string, record: unknown, edits: Y.Map<unknown>): MemoryEntry | undefined {
  if (typeof record !== 'object' || record === null || record instanceof Y.AbstractType || Array.isArray(record)) return undefined
  const r = record as Record<string, unknown>
  let { topic, text, tags, updatedAt } = r
  if (edits.size > 0) {
    const edit = (field: Editable): unknown => edits.get(editKey(id, field))
    text = edit('text') ?? text
    topic = edit('topic') ?? topic
    tags = edit('tags') ?? tags
    updatedAt = edit('updatedAt') ?? updatedAt
  }
  const { author, createdAt } = r
  if (
    typeof topic !== 'string' ||
    typeof text !== 'string' ||
    typeof author !== 'string' ||
    typeof createdAt !== 'number' ||
    typeof updatedAt !== 'number' ||
    !Array.isArray(tags) ||
    !tags.every((t) => typeof t === 'string')
  ) {
    return undefined
  }
  return { id, topic, text, tags: tags as string[], author, createdAt, updatedAt }
}

function copyEntry(e: MemoryEntry): MemoryEntry {
  return { ...e, tags: [...e.tags] }
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
    if (CONTROL_CHARACTERS.test(tag) || tag.trim() !== tag) {
      throw new ModelInputInvalidError('tags', 'a tag must not hold control characters or start or end with whitespace')
    }
    if (!out.includes(tag)) out.push(tag)
  }
  if (out.length > MEMORY_LIMITS.tags) throw new ModelInputInvalidError('tags', `at most ${MEMORY_LIMITS.tags} tags`)
  return out
}
