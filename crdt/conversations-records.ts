/**
 * The values stored in the `conversations` document, their decoders (a record a remote writer
 * left malformed decodes to undefined and is invisible) and the checks of a caller's input.
 * See conversations-model.ts for the layout.
 */
import * as Y from 'yjs'
import { ModelInputInvalidError } from './errors.js'

export type ConversationChannel = 'telegram' | 'whatsapp' | 'threadline' | 'cli'
export const CONVERSATION_CHANNELS: readonly ConversationChannel[] = ['telegram', 'whatsapp', 'threadline', 'cli']

/** The platform's reference of a conversation: a Telegram chat id, and the forum topic id in a supergroup. */
export interface ConversationRef {
  chatId: string
  topicId: string | null
}

export interface Conversation {
  id: string
  channel: ConversationChannel
  ref: ConversationRef
  title: string
  personId: string | null
  createdAt: number
  /** The newest message's time, or createdAt when it has none. */
  lastMessageAt: number
  messages: number
}

export interface Attachment {
  kind: string
  /** The platform's file id (Telegram: file_id; downloaded on demand with getFile). */
  fileId: string
  name: string | null
  mime: string | null
  size: number | null
}

export type MessageDirection = 'in' | 'out'

export interface Message {
  id: string
  conversationId: string
  /** The platform's id of the message (Telegram: message_id), null for one not yet on the platform. */
  platformId: string | null
  direction: MessageDirection
  personId: string | null
  text: string
  attachments: Attachment[]
  at: number
}

export type InboxState =
  | { state: 'received'; at: number }
  | { state: 'handled'; at: number; term: number; machine: string }
  | { state: 'held'; at: number }

export type OutboxFormat = 'markdown' | 'text'

export interface OutboxItem {
  id: string
  conversationId: string
  text: string
  format: OutboxFormat
  /** The message this item answers, or null. */
  replyTo: string | null
  createdAt: number
  /** The machine that queued it. */
  by: string
}

export type OutboxState =
  | { state: 'queued' }
  | { state: 'sending'; term: number; attempt: number; machine: string; at: number }
  | { state: 'sent'; platformId: string; term: number; at: number }
  | { state: 'failed'; error: string; at: number }

export const CONVERSATION_LIMITS = {
  idLength: 256,
  titleLength: 256,
  textLength: 64 * 1024,
  attachments: 16,
  errorLength: 1000,
  refLength: 64,
  machineIdLength: 128,
  listLimit: 10_000,
} as const

const CONTROL = /[\u0000-\u001f\u007f]/

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Y.AbstractType) && !(v instanceof Uint8Array)
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 8.64e15
const isTerm = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string'

export interface StoredConversation {
  channel: ConversationChannel
  ref: ConversationRef
  title: string
  personId: string | null
  createdAt: number
}

export function decodeConversation(v: unknown): StoredConversation | undefined {
  if (!isObject(v)) return undefined
  const { channel, ref, title, personId, createdAt } = v
  if (typeof channel !== 'string' || !(CONVERSATION_CHANNELS as readonly string[]).includes(channel)) return undefined
  if (!isObject(ref) || typeof ref.chatId !== 'string' || !isNullableString(ref.topicId)) return undefined
  if (typeof title !== 'string' || !isNullableString(personId) || !isTime(createdAt)) return undefined
  return { channel: channel as ConversationChannel, ref: { chatId: ref.chatId, topicId: ref.topicId }, title, personId, createdAt }
}

export function decodeMessage(id: string, v: unknown): Message | undefined {
  if (!isObject(v)) return undefined
  const { conversation, platformId, direction, personId, text, attachments, at } = v
  if (typeof conversation !== 'string' || !isNullableString(platformId) || (direction !== 'in' && direction !== 'out')) return undefined
  if (!isNullableString(personId) || typeof text !== 'string' || !Array.isArray(attachments) || !isTime(at)) return undefined
  const atts: Attachment[] = []
  for (const a of attachments as unknown[]) {
    if (!isObject(a) || typeof a.kind !== 'string' || typeof a.fileId !== 'string') return undefined
    atts.push({
      kind: a.kind,
      fileId: a.fileId,
      name: typeof a.name === 'string' ? a.name : null,
      mime: typeof a.mime === 'string' ? a.mime : null,
      size: typeof a.size === 'number' && Number.isFinite(a.size) ? a.size : null,
    })
  }
  return { id, conversationId: conversation, platformId, direction, personId, text, attachments: atts, at }
}

export function decodeInbox(v: unknown): InboxState | undefined {
  if (!isObject(v) || !isTime(v.at)) return undefined
  if (v.state === 'received' || v.state === 'held') return { state: v.state, at: v.at }
  if (v.state === 'handled' && isTerm(v.term) && typeof v.machine === 'string') return { state: 'handled', at: v.at, term: v.term, machine: v.machine }
  return undefined
}

export function decodeOutboxItem(id: string, v: unknown): OutboxItem | undefined {
  if (!isObject(v)) return undefined
  const { conversation, text, format, replyTo, createdAt, by } = v
  if (typeof conversation !== 'string' || typeof text !== 'string' || (format !== 'markdown' && format !== 'text')) return undefined
  if (!isNullableString(replyTo) || !isTime(createdAt) || typeof by !== 'string') return undefined
  return { id, conversationId: conversation, text, format, replyTo, createdAt, by }
}

/** A missing state is `queued`; a malformed one too (the leader's next write replaces it). */
export function decodeOutboxState(v: unknown): OutboxState {
  if (!isObject(v)) return { state: 'queued' }
  if (v.state === 'sending' && isTerm(v.term) && isTerm(v.attempt) && typeof v.machine === 'string' && isTime(v.at)) {
    return { state: 'sending', term: v.term, attempt: v.attempt, machine: v.machine, at: v.at }
  }
  if (v.state === 'sent' && typeof v.platformId === 'string' && isTerm(v.term) && isTime(v.at)) return { state: 'sent', platformId: v.platformId, term: v.term, at: v.at }
  if (v.state === 'failed' && typeof v.error === 'string' && isTime(v.at)) return { state: 'failed', error: v.error, at: v.at }
  return { state: 'queued' }
}

export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > CONVERSATION_LIMITS.idLength || CONTROL.test(value)) {
    throw new ModelInputInvalidError(field, `must be 1-${CONVERSATION_LIMITS.idLength} characters with no control characters`)
  }
  return value
}

export function checkNullableId(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : checkId(value, field)
}

export function checkText(value: unknown, field = 'text', allowEmpty = false): string {
  if (typeof value !== 'string' || value.length > CONVERSATION_LIMITS.textLength || (!allowEmpty && value.trim().length === 0)) {
    throw new ModelInputInvalidError(field, `must be ${allowEmpty ? 'a string' : 'a non-empty string'} of at most ${CONVERSATION_LIMITS.textLength} characters`)
  }
  return value
}

export function checkTitle(value: unknown): string {
  if (typeof value !== 'string' || value.length > CONVERSATION_LIMITS.titleLength || CONTROL.test(value)) {
    throw new ModelInputInvalidError('title', `must be at most ${CONVERSATION_LIMITS.titleLength} characters with no control characters`)
  }
  return value
}

export function checkRef(value: unknown): ConversationRef {
  if (!isObject(value)) throw new ModelInputInvalidError('ref', 'must be an object { chatId, topicId }')
  const ok = (s: unknown): s is string => typeof s === 'string' && /^-?[A-Za-z0-9_.@+:-]{1,64}$/.test(s)
  if (!ok(value.chatId)) throw new ModelInputInvalidError('ref.chatId', 'must be 1-64 characters of [A-Za-z0-9_.@+:-]')
  const topicId = value.topicId ?? null
  if (topicId !== null && !ok(topicId)) throw new ModelInputInvalidError('ref.topicId', 'must be null or 1-64 characters of [A-Za-z0-9_.@+:-]')
  return { chatId: value.chatId, topicId }
}

export function checkChannel(value: unknown): ConversationChannel {
  if (typeof value !== 'string' || !(CONVERSATION_CHANNELS as readonly string[]).includes(value)) {
    throw new ModelInputInvalidError('channel', `must be one of ${CONVERSATION_CHANNELS.join(', ')}`)
  }
  return value as ConversationChannel
}

export function checkAttachments(value: unknown): Attachment[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > CONVERSATION_LIMITS.attachments) {
    throw new ModelInputInvalidError('attachments', `must be an array of at most ${CONVERSATION_LIMITS.attachments}`)
  }
  return (value as unknown[]).map((a, i) => {
    if (!isObject(a) || typeof a.kind !== 'string' || a.kind.length === 0 || a.kind.length > 32) {
      throw new ModelInputInvalidError(`attachments[${i}].kind`, 'must be a string of 1-32 characters')
    }
    if (typeof a.fileId !== 'string' || a.fileId.length === 0 || a.fileId.length > 256) {
      throw new ModelInputInvalidError(`attachments[${i}].fileId`, 'must be a string of 1-256 characters')
    }
    const name = typeof a.name === 'string' ? a.name.slice(0, 256) : null
    const mime = typeof a.mime === 'string' ? a.mime.slice(0, 128) : null
    const size = typeof a.size === 'number' && Number.isFinite(a.size) && a.size >= 0 ? a.size : null
    return { kind: a.kind, fileId: a.fileId, name, mime, size }
  })
}

export function checkTime(value: unknown, field: string): number {
  if (!isTime(value)) throw new ModelInputInvalidError(field, 'must be a time in milliseconds since the epoch')
  return value
}

export function checkTerm(value: unknown): number {
  if (!isTerm(value)) throw new ModelInputInvalidError('term', 'must be a non-negative whole number')
  return value
}

export function checkMachine(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > CONVERSATION_LIMITS.machineIdLength || CONTROL.test(value)) {
    throw new ModelInputInvalidError('machine', `must be a machine id of 1-${CONVERSATION_LIMITS.machineIdLength} characters`)
  }
  return value
}
