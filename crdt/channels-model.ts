/**
 * The channels' shared settings and progress, as a typed facade over the `channels` Yjs
 * document: whichever machine leads reads the same bot settings and offset, and every machine
 * sees which one polls and how that goes.
 *
 * Layout (root maps of plain values, each replaced whole, last writer wins):
 *   `settings`  channel → { apiRoot, owner, botId, botUsername, addedAt }
 *   `allow`     "channel:userId" → { allowed, at } (one key per user, so an allow and a
 *               concurrent block of another user both survive)
 *   `offsets`   channel → { offset, term, at }: the next update the platform should hand
 *               out. Moved only forward by this facade; a concurrent write of an older offset
 *               (two leaders in a preferred-primary partition) can win, which re-delivers
 *               updates that are already recorded: recording is idempotent, so nothing doubles.
 *   `health`    channel → { poller, term, lastPollAt, lastError, conflicts, at }
 *   `notices`   "channel:userId" → { at }: an unknown sender was answered (once) and the
 *               owner told.
 *
 * A peer's update may hold only that (CHANNELS_SCHEMA).
 */
import * as Y from 'yjs'
import { ModelInputInvalidError } from './errors.js'
import type { DocumentSchema } from './update-schema.js'

export interface ChannelSettings {
  channel: string
  apiRoot: string
  /** The user told about held senders (Telegram: the first allowed user), or null. */
  owner: string | null
  botId: string | null
  botUsername: string | null
  addedAt: number
}

export interface ChannelHealth {
  /** Peer id of the machine that polls, or null once it stopped. */
  poller: string | null
  term: number
  lastPollAt: number | null
  lastError: { code: string; message: string; at: number } | null
  conflicts: number
  at: number
}

export interface ChannelsModel {
  configure(settings: ChannelSettings): void
  settings(channel: string): ChannelSettings | undefined
  list(): ChannelSettings[]
  /** Removes the settings, allowlist and health of a channel (its offset stays, so a re-add does not replay). */
  remove(channel: string): boolean
  setAllowed(channel: string, userId: string, allowed: boolean, now: number): void
  /** Allowed user ids, sorted. */
  allowed(channel: string): string[]
  isAllowed(channel: string, userId: string): boolean
  offset(channel: string): number
  /** Moves the offset forward (never back); returns whether it moved. */
  advanceOffset(channel: string, offset: number, term: number, now: number): boolean
  health(channel: string): ChannelHealth | undefined
  setHealth(channel: string, health: ChannelHealth): void
  noticed(channel: string, userId: string): boolean
  markNoticed(channel: string, userId: string, now: number): void
}

/** What a peer's update of the channels document may hold (see the layout above). */
export const CHANNELS_SCHEMA: DocumentSchema = {
  roots: {
    settings: { maxKeyLength: 32, value: { kind: 'plain', maxSize: 4096 } },
    allow: { maxKeyLength: 128, value: { kind: 'plain', maxSize: 64 } },
    offsets: { maxKeyLength: 32, value: { kind: 'plain', maxSize: 256 } },
    health: { maxKeyLength: 32, value: { kind: 'plain', maxSize: 4096 } },
    notices: { maxKeyLength: 128, value: { kind: 'plain', maxSize: 64 } },
  },
}

const CHANNEL = /^[a-z][a-z0-9-]{0,31}$/
const USER = /^[A-Za-z0-9_.@+:-]{1,64}$/
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Y.AbstractType)
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0
const nullableString = (v: unknown): string | null => (typeof v === 'string' ? v : null)

function checkChannel(channel: unknown): string {
  if (typeof channel !== 'string' || !CHANNEL.test(channel)) throw new ModelInputInvalidError('channel', 'must match ^[a-z][a-z0-9-]{0,31}$')
  return channel
}
function checkUser(userId: unknown): string {
  if (typeof userId !== 'string' || !USER.test(userId)) throw new ModelInputInvalidError('userId', 'must be 1-64 characters of [A-Za-z0-9_.@+:-]')
  return userId
}
function checkNumber(value: unknown, field: string): number {
  if (!isNum(value)) throw new ModelInputInvalidError(field, 'must be a non-negative finite number')
  return value
}

export function createChannelsModel(doc: Y.Doc): ChannelsModel {
  const settings = doc.getMap<unknown>('settings')
  const allow = doc.getMap<unknown>('allow')
  const offsets = doc.getMap<unknown>('offsets')
  const health = doc.getMap<unknown>('health')
  const notices = doc.getMap<unknown>('notices')

  const readSettings = (channel: string): ChannelSettings | undefined => {
    const v = settings.get(channel)
    if (!isObject(v) || typeof v.apiRoot !== 'string' || !isNum(v.addedAt)) return undefined
    return { channel, apiRoot: v.apiRoot, owner: nullableString(v.owner), botId: nullableString(v.botId), botUsername: nullableString(v.botUsername), addedAt: v.addedAt }
  }

  return {
    configure(s) {
      const channel = checkChannel(s.channel)
      if (typeof s.apiRoot !== 'string' || !/^https?:\/\/[^\s]{1,500}$/.test(s.apiRoot)) throw new ModelInputInvalidError('apiRoot', 'must be an http(s) URL of at most 500 characters')
      const owner = s.owner === null ? null : checkUser(s.owner)
      const botId = s.botId === null ? null : checkUser(s.botId)
      if (s.botUsername !== null && (typeof s.botUsername !== 'string' || s.botUsername.length > 64)) throw new ModelInputInvalidError('botUsername', 'must be at most 64 characters')
      settings.set(channel, { apiRoot: s.apiRoot.replace(/\/+$/, ''), owner, botId, botUsername: s.botUsername, addedAt: checkNumber(s.addedAt, 'addedAt') })
    },
    settings: (channel) => readSettings(checkChannel(channel)),
    list() {
      const out: ChannelSettings[] = []
      for (const name of [...settings.keys()].sort()) {
        const s = CHANNEL.test(name) ? readSettings(name) : undefined
        if (s !== undefined) out.push(s)
      }
      return out
    },
    remove(channel) {
      checkChannel(channel)
      if (!settings.has(channel)) return false
      doc.transact(() => {
        settings.delete(channel)
        health.delete(channel)
        for (const key of [...allow.keys()]) if (key.startsWith(`${channel}:`)) allow.delete(key)
      })
      return true
    },
    setAllowed(channel, userId, allowed, now) {
      allow.set(`${checkChannel(channel)}:${checkUser(userId)}`, { allowed: allowed === true, at: checkNumber(now, 'now') })
    },
    allowed(channel) {
      const prefix = `${checkChannel(channel)}:`
      const out: string[] = []
      allow.forEach((v, key) => {
        if (key.startsWith(prefix) && isObject(v) && v.allowed === true) out.push(key.slice(prefix.length))
      })
      return out.sort()
    },
    isAllowed(channel, userId) {
      const v = allow.get(`${checkChannel(channel)}:${checkUser(userId)}`)
      return isObject(v) && v.allowed === true
    },
    offset(channel) {
      const v = offsets.get(checkChannel(channel))
      return isObject(v) && typeof v.offset === 'number' && Number.isSafeInteger(v.offset) && v.offset >= 0 ? v.offset : 0
    },
    advanceOffset(channel, offset, term, now) {
      checkChannel(channel)
      if (!Number.isSafeInteger(offset) || offset < 0) throw new ModelInputInvalidError('offset', 'must be a non-negative whole number')
      if (offset <= this.offset(channel)) return false
      offsets.set(channel, { offset, term: checkNumber(term, 'term'), at: checkNumber(now, 'now') })
      return true
    },
    health(channel) {
      const v = health.get(checkChannel(channel))
      if (!isObject(v) || !isNum(v.term) || !isNum(v.conflicts) || !isNum(v.at)) return undefined
      const e = v.lastError
      const lastError = isObject(e) && typeof e.code === 'string' && typeof e.message === 'string' && isNum(e.at) ? { code: e.code, message: e.message, at: e.at } : null
      return { poller: nullableString(v.poller), term: v.term, lastPollAt: isNum(v.lastPollAt) ? v.lastPollAt : null, lastError, conflicts: v.conflicts, at: v.at }
    },
    setHealth(channel, h) {
      checkChannel(channel)
      const lastError = h.lastError === null ? null : { code: h.lastError.code.slice(0, 64), message: h.lastError.message.slice(0, 500), at: h.lastError.at }
      health.set(channel, { poller: h.poller, term: h.term, lastPollAt: h.lastPollAt, lastError, conflicts: h.conflicts, at: h.at })
    },
    noticed: (channel, userId) => notices.has(`${checkChannel(channel)}:${checkUser(userId)}`),
    markNoticed(channel, userId, now) {
      notices.set(`${checkChannel(channel)}:${checkUser(userId)}`, { at: checkNumber(now, 'now') })
    },
  }
}
