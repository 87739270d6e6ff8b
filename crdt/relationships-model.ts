/**
 * The people the agent knows, as a typed facade over a Yjs document. One person gathers
 * several platform identities (a Telegram user, a WhatsApp number, a Threadline agent key,
 * an email address).
 *
 * Layout:
 *   `people`      person id → Y.Map { displayName, notes, significance, lastInteraction,
 *                 createdAt, updatedAt } (updatedAt: set by addPerson and update)
 *   `identities`  "platform:value" → person id (the value normalised, see `checkIdentity`)
 *   `merged`      merged-away person id → the id it was merged into
 *
 * An identity key holds one person, so linking it elsewhere moves it. Every read follows
 * `merged` chains, which is what makes a merge on one machine and a concurrent link (to the
 * merged-away person) on another converge: the link lands on the survivor.
 *
 * A merge writes the survivor as a fresh record (a new Y.Map under the same id) and deletes
 * the merged-away one. So when two machines merge the same pair in opposite directions at
 * once, each deletes only the record it saw, both fresh records survive, `merged` holds a
 * cycle, and every machine takes the smallest id of the cycle that has a record: nothing is
 * lost. The price: an edit of the survivor made on another machine concurrently with the
 * merge is lost, as is one of the merged-away person.
 *
 * A peer's update may hold only that (RELATIONSHIPS_SCHEMA): person records with those
 * fields (each a plain value of at most PERSON_FIELD_SIZE), and person ids as the values of
 * `identities` and `merged`, under keys of at most 256 (265 for an identity) characters.
 *
 * Fields are last-writer-wins per key. recordInteraction keeps the max locally; two machines
 * recording an interaction at once converge to one of the two times.
 */
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { ModelInputInvalidError, PersonNotFoundError } from './errors.js'
import { CONTROL_CHARACTERS, checkId, checkObject, checkTime, compareStrings } from './model-fields.js'
import type { DocumentSchema } from './update-schema.js'

export type Platform = 'telegram' | 'whatsapp' | 'threadline' | 'email'
export const PLATFORMS: readonly Platform[] = ['telegram', 'whatsapp', 'threadline', 'email']

export interface PlatformIdentity {
  platform: Platform
  value: string
}

export interface Person {
  id: string
  displayName: string
  notes: string
  significance: number
  lastInteraction: number | null
  createdAt: number
  /** Sorted by platform, then value. */
  identities: PlatformIdentity[]
}

export interface RelationshipsModel {
  /** Adds a person (significance defaults to 0, notes to ''); identities already linked elsewhere move to it. */
  addPerson(
    input: { displayName: string; notes?: string; significance?: number; identities?: PlatformIdentity[] },
    now: number,
  ): string
  /** PersonNotFoundError if the id does not resolve to a live person. */
  update(id: string, patch: { displayName?: string; notes?: string; significance?: number }, now: number): Person
  /** An identity belongs to one person; linking it elsewhere moves it. */
  link(id: string, identity: PlatformIdentity): void
  /** Keeps the later of the stored and the given time. */
  recordInteraction(id: string, at: number): void
  /** Follows merged chains. */
  resolve(identity: PlatformIdentity): Person | undefined
  /** Follows merged chains; the returned id is the surviving one. */
  get(id: string): Person | undefined
  /**
   * By id, then by "platform:value", then by exact display name (case-insensitive).
   * PersonNotFoundError when nothing matches or the name is ambiguous (its message says so).
   */
  find(query: string): Person
  /** Live people, by display name (case-insensitive, ties by id). */
  list(): Person[]
  /**
   * Moves `from`'s identities to `into`; notes joined by a blank line, significance and
   * lastInteraction the max, createdAt the min. `from` is deleted and recorded in `merged`.
   */
  merge(intoId: string, fromId: string, now: number): Person
}

export interface RelationshipsModelDeps {
  /** New person ids; default 16 random bytes as hex. */
  id?: () => string
}

export const RELATIONSHIP_LIMITS = { displayName: 100, notes: 10_000, significance: 10, email: 254 } as const

/** Room for the largest field, the notes (plainSize). */
const PERSON_FIELD_SIZE = 12 * 1024

/** What a peer's update of the relationships document may hold (see the layout above). */
export const RELATIONSHIPS_SCHEMA: DocumentSchema = {
  roots: {
    people: {
      maxKeyLength: 256,
      value: { kind: 'record', fields: ['displayName', 'notes', 'significance', 'lastInteraction', 'createdAt', 'updatedAt'], maxSize: PERSON_FIELD_SIZE },
    },
    // "platform:value": the longest platform name with the longest value (an email address).
    identities: { maxKeyLength: 'threadline:'.length + RELATIONSHIP_LIMITS.email, value: { kind: 'plain', maxSize: 256 } },
    merged: { maxKeyLength: 256, value: { kind: 'plain', maxSize: 256 } },
  },
}

const IDENTITY_PATTERNS: Record<Platform, RegExp> = {
  telegram: /^[1-9][0-9]{0,19}$/,
  whatsapp: /^\+[1-9][0-9]{6,14}$/,
  threadline: /^[0-9a-f]{64}$/,
  email: /^[^\s@"(),:;<>[\]\\]+@[^\s@"(),:;<>[\]\\]+\.[^\s@"(),:;<>[\]\\]+$/,
}

interface StoredPerson {
  displayName: string
  notes: string
  significance: number
  lastInteraction: number | null
  createdAt: number
}

export function createRelationshipsModel(doc: Y.Doc, deps: RelationshipsModelDeps = {}): RelationshipsModel {
  const people = doc.getMap<Y.Map<unknown>>('people')
  const identities = doc.getMap<string>('identities')
  const merged = doc.getMap<string>('merged')
  const newId = deps.id ?? (() => randomBytes(16).toString('hex'))

  const stored = (id: string): StoredPerson | undefined => {
    const m = people.get(id)
    return m instanceof Y.Map ? decodePerson(m) : undefined
  }

  /** The surviving id for `id`, or undefined when the chain ends without a record. */
  const canonical = (id: string): string | undefined => {
    const seen: string[] = []
    let at = id
    for (;;) {
      const next = merged.get(at)
      if (typeof next !== 'string') return stored(at) === undefined ? undefined : at
      seen.push(at)
      if (seen.includes(next)) {
        // Opposite concurrent merges: the same cycle on every machine, so the same pick.
        const cycle = seen.slice(seen.indexOf(next)).sort()
        return cycle.find((c) => stored(c) !== undefined)
      }
      at = next
    }
  }

  const identitiesOf = (): Map<string, PlatformIdentity[]> => {
    const byPerson = new Map<string, PlatformIdentity[]>()
    for (const [key, owner] of identities.entries()) {
      const identity = parseKey(key)
      const who = typeof owner === 'string' ? canonical(owner) : undefined
      if (identity === undefined || who === undefined) continue
      const list = byPerson.get(who) ?? []
      list.push(identity)
      byPerson.set(who, list)
    }
    for (const list of byPerson.values()) list.sort((a, b) => compareStrings(keyOf(a), keyOf(b)))
    return byPerson
  }

  const build = (id: string, ids: Map<string, PlatformIdentity[]> = identitiesOf()): Person | undefined => {
    const p = stored(id)
    return p === undefined ? undefined : { id, ...p, identities: ids.get(id) ?? [] }
  }

  const live = (id: string): { id: string; map: Y.Map<unknown>; person: StoredPerson } => {
    const c = canonical(id)
    const map = c === undefined ? undefined : people.get(c)
    const person = c === undefined ? undefined : stored(c)
    if (c === undefined || !(map instanceof Y.Map) || person === undefined) throw new PersonNotFoundError(id)
    return { id: c, map, person }
  }

  const liveIds = (): string[] => [...people.keys()].filter((id) => canonical(id) === id)

  return {
    addPerson(input, now) {
      checkObject(input, 'input')
      const displayName = checkDisplayName(input.displayName)
      const notes = checkNotes(input.notes ?? '')
      const significance = checkSignificance(input.significance ?? 0)
      const links = (input.identities ?? []).map(checkIdentity)
      checkTime(now, 'now')
      const id = newId()
      if (typeof id !== 'string' || id.length === 0 || people.has(id) || merged.has(id)) {
        throw new ModelInputInvalidError('id', 'the id generator returned an empty or taken id')
      }
      doc.transact(() => {
        people.set(id, record({ displayName, notes, significance, lastInteraction: null, createdAt: now }, now))
        for (const identity of links) identities.set(keyOf(identity), id)
      })
      return id
    },

    update(id, patch, now) {
      checkId(id)
      checkObject(patch, 'patch')
      const displayName = patch.displayName === undefined ? undefined : checkDisplayName(patch.displayName)
      const notes = patch.notes === undefined ? undefined : checkNotes(patch.notes)
      const significance = patch.significance === undefined ? undefined : checkSignificance(patch.significance)
      if (displayName === undefined && notes === undefined && significance === undefined) {
        throw new ModelInputInvalidError('patch', 'names no field to update (displayName, notes or significance)')
      }
      checkTime(now, 'now')
      const target = live(id)
      doc.transact(() => {
        if (displayName !== undefined && displayName !== target.person.displayName) target.map.set('displayName', displayName)
        if (notes !== undefined && notes !== target.person.notes) target.map.set('notes', notes)
        if (significance !== undefined && significance !== target.person.significance) target.map.set('significance', significance)
        target.map.set('updatedAt', now)
      })
      return build(target.id) as Person
    },

    link(id, identity) {
      checkId(id)
      const normal = checkIdentity(identity)
      const target = live(id)
      const key = keyOf(normal)
      if (identities.get(key) !== target.id) identities.set(key, target.id)
    },

    recordInteraction(id, at) {
      checkId(id)
      checkTime(at, 'at')
      const target = live(id)
      const last = target.person.lastInteraction
      if (last === null || at > last) target.map.set('lastInteraction', at)
    },

    resolve(identity) {
      const owner = identities.get(keyOf(checkIdentity(identity)))
      const who = typeof owner === 'string' ? canonical(owner) : undefined
      return who === undefined ? undefined : build(who)
    },

    get(id) {
      checkId(id)
      const who = canonical(id)
      return who === undefined ? undefined : build(who)
    },

    find(query) {
      if (typeof query !== 'string' || query.trim().length === 0 || query.length > 1000) {
        throw new ModelInputInvalidError('query', 'must be a non-empty string of at most 1000 characters')
      }
      const q = query.trim()
      const byId = canonical(q)
      if (byId !== undefined) return build(byId) as Person
      const colon = q.indexOf(':')
      const platform = q.slice(0, colon).toLowerCase()
      if (colon > 0 && (PLATFORMS as readonly string[]).includes(platform)) {
        const identity = normaliseIdentity({ platform: platform as Platform, value: q.slice(colon + 1).trim() })
        if (identity !== undefined) {
          const owner = identities.get(keyOf(identity))
          const who = typeof owner === 'string' ? canonical(owner) : undefined
          if (who !== undefined) return build(who) as Person
        }
      }
      const name = q.toLowerCase()
      const named = liveIds()
        .filter((id) => stored(id)?.displayName.toLowerCase() === name)
        .sort(compareStrings)
      if (named.length === 1) return build(named[0] as string) as Person
      const err = new PersonNotFoundError(query)
      if (named.length > 1) {
        err.message = `"${query}" is ambiguous: ${named.length} people have this name (${named.join(', ')}); use an id or platform:value`
      }
      throw err
    },

    list() {
      const ids = identitiesOf()
      return liveIds()
        .map((id) => build(id, ids) as Person)
        .sort((a, b) => compareStrings(a.displayName.toLowerCase(), b.displayName.toLowerCase()) || compareStrings(a.id, b.id))
    },

    merge(intoId, fromId, now) {
      checkId(intoId, 'intoId')
      checkId(fromId, 'fromId')
      checkTime(now, 'now')
      const into = live(intoId)
      const from = live(fromId)
      if (into.id === from.id) throw new ModelInputInvalidError('fromId', 'is the same person as intoId')
      const notes = [into.person.notes, from.person.notes].filter((n) => n.length > 0).join('\n\n')
      if (notes.length > RELATIONSHIP_LIMITS.notes) {
        throw new ModelInputInvalidError('notes', `the joined notes would exceed ${RELATIONSHIP_LIMITS.notes} characters; shorten them first`)
      }
      const significance = Math.max(into.person.significance, from.person.significance)
      const a = into.person.lastInteraction
      const b = from.person.lastInteraction
      const lastInteraction = a === null ? b : b === null ? a : Math.max(a, b)
      const createdAt = Math.min(into.person.createdAt, from.person.createdAt)
      doc.transact(() => {
        for (const [key, owner] of [...identities.entries()]) {
          if (typeof owner === 'string' && canonical(owner) === from.id) identities.set(key, into.id)
        }
        // A fresh record rather than edits of the old one: a concurrent opposite merge deletes
        // the old record, but not a record it has never seen.
        people.set(into.id, record({ displayName: into.person.displayName, notes, significance, lastInteraction, createdAt }, now))
        merged.set(from.id, into.id)
        people.delete(from.id)
      })
      return build(into.id) as Person
    },
  }
}

function record(person: StoredPerson, updatedAt: number): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  for (const [key, value] of Object.entries(person)) m.set(key, value)
  m.set('updatedAt', updatedAt)
  return m
}

function decodePerson(m: Y.Map<unknown>): StoredPerson | undefined {
  const displayName = m.get('displayName')
  const notes = m.get('notes')
  const significance = m.get('significance')
  const lastInteraction = m.get('lastInteraction')
  const createdAt = m.get('createdAt')
  if (
    typeof displayName !== 'string' ||
    typeof notes !== 'string' ||
    typeof significance !== 'number' ||
    !(lastInteraction === null || typeof lastInteraction === 'number') ||
    typeof createdAt !== 'number'
  ) {
    return undefined
  }
  return { displayName, notes, significance, lastInteraction, createdAt }
}

function keyOf(identity: PlatformIdentity): string {
  return `${identity.platform}:${identity.value}`
}

function parseKey(key: string): PlatformIdentity | undefined {
  const colon = key.indexOf(':')
  const platform = key.slice(0, colon)
  if (colon <= 0 || !(PLATFORMS as readonly string[]).includes(platform)) return undefined
  return { platform: platform as Platform, value: key.slice(colon + 1) }
}

/** Lowercases emails and Threadline keys, then checks the platform's pattern. */
function normaliseIdentity(identity: { platform: Platform; value: string }): PlatformIdentity | undefined {
  const { platform } = identity
  const value = platform === 'email' || platform === 'threadline' ? identity.value.toLowerCase() : identity.value
  if (platform === 'email' && value.length > RELATIONSHIP_LIMITS.email) return undefined
  return IDENTITY_PATTERNS[platform].test(value) ? { platform, value } : undefined
}

function checkIdentity(identity: unknown): PlatformIdentity {
  if (typeof identity !== 'object' || identity === null) throw new ModelInputInvalidError('identity', 'must be an object')
  const { platform, value } = identity as { platform?: unknown; value?: unknown }
  if (typeof platform !== 'string' || !(PLATFORMS as readonly string[]).includes(platform)) {
    throw new ModelInputInvalidError('identity.platform', `must be one of ${PLATFORMS.join(', ')}`)
  }
  if (typeof value !== 'string') throw new ModelInputInvalidError('identity.value', 'must be a string')
  const normal = normaliseIdentity({ platform: platform as Platform, value })
  if (normal === undefined) {
    const expected: Record<Platform, string> = {
      telegram: 'a Telegram user id (digits)',
      whatsapp: 'an E.164 phone number such as +15551234567',
      threadline: 'a 64-character hex agent key',
      email: 'an email address',
    }
    throw new ModelInputInvalidError('identity.value', `must be ${expected[platform as Platform]}`)
  }
  return normal
}

function checkDisplayName(name: unknown): string {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > RELATIONSHIP_LIMITS.displayName) {
    throw new ModelInputInvalidError('displayName', `must be 1-${RELATIONSHIP_LIMITS.displayName} characters, not only spaces`)
  }
  if (CONTROL_CHARACTERS.test(name)) throw new ModelInputInvalidError('displayName', 'must not hold control characters')
  return name
}

function checkNotes(notes: unknown): string {
  if (typeof notes !== 'string' || notes.length > RELATIONSHIP_LIMITS.notes) {
    throw new ModelInputInvalidError('notes', `must be a string of at most ${RELATIONSHIP_LIMITS.notes} characters`)
  }
  return notes
}

function checkSignificance(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > RELATIONSHIP_LIMITS.significance) {
    throw new ModelInputInvalidError('significance', `must be a number from 0 to ${RELATIONSHIP_LIMITS.significance}`)
  }
  return value
}
