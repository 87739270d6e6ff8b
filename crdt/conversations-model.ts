/**
 * Conversations with people (Telegram chats and forum topics, later WhatsApp, Threadline and
 * the CLI), their messages, and the state of each inbound message (the inbox) and of each
 * outbound item (the outbox), as a typed facade over the `conversations` Yjs document.
 *
 * Layout: root maps of plain values only (a message costs Yjs one item, not a map and its
 * fields: the document stays fast at 100,000 messages):
 *   `conversations`  id → { channel, ref: { chatId, topicId }, title, personId, createdAt }
 *   `messages`       id → { conversation, platformId, direction, personId, text, attachments, at }
 *                    written once, never changed; never pruned.
 *   `inbox`          inbound message id → { state: 'received' | 'held', at }
 *                    | { state: 'handled', at, term, machine }
 *   `outbox`         item id → { conversation, text, format, replyTo, createdAt, by }, written
 *                    once by whichever machine queues it.
 *   `outboxState`    item id → { state: 'sending', term, attempt, machine, at }
 *                    | { state: 'sent', platformId, term, at } | { state: 'failed', error, at };
 *                    no key means queued. Written only by the leader.
 * An inbound message's id is derived from the platform's id of the update (the channel
 * chooses it), so two leaders that record the same update write the same key: recording is
 * idempotent, and a record already present is not written again. An outbox item's id is
 * chosen by who queues it (a handler's reply is keyed by the message it answers), and queueing
 * an id already present is a no-op: a reply is queued once, whoever queues it.
 *
 * A state is one plain value, replaced whole (last writer wins), so two machines never mix
 * two states. Finished inbox entries (handled, held) and outbox entries (sent, failed) are
 * pruned after a retention period (`prune`); the messages stay.
 *
 * A peer's update may hold only that (CONVERSATIONS_SCHEMA). Records a remote writer left
 * malformed are invisible. Messages are listed from an index by conversation (ordered by time,
 * ties by id), built on first use and then kept current from each transaction's changed keys.
 */
import * as Y from 'yjs'
import { ModelInputInvalidError } from './errors.js'
import {
  checkAttachments,
  checkChannel,
  checkId,
  checkMachine,
  checkNullableId,
  checkRef,
  checkTerm,
  checkText,
  checkTime,
  checkTitle,
  CONVERSATION_LIMITS,
  decodeConversation,
  decodeInbox,
  decodeMessage,
  decodeOutboxItem,
  decodeOutboxState,
  type Attachment,
  type Conversation,
  type ConversationChannel,
  type ConversationRef,
  type InboxState,
  type Message,
  type OutboxFormat,
  type OutboxItem,
  type OutboxState,
} from './conversations-records.js'
import type { DocumentSchema } from './update-schema.js'

export type * from './conversations-records.js'

export interface InboundInput {
  /** Derived from the platform's update id, e.g. "telegram:123456:789". */
  id: string
  conversationId: string
  platformId: string | null
  personId: string | null
  text: string
  attachments?: Attachment[]
  at: number
  /** An unknown sender's message: recorded, never handed to the agent. */
  held?: boolean
}

export interface StateCounts {
  inbox: { received: number; handled: number; held: number }
  outbox: { queued: number; sending: number; sent: number; failed: number }
  /** Time of the oldest message still `received`, or null. */
  oldestUnhandledAt: number | null
}

export interface ConversationsModel {
  /** Creates the conversation if absent (title and person updated when they differ); returns its id. */
  ensureConversation(input: { id: string; channel: ConversationChannel; ref: ConversationRef; title: string; personId: string | null }, now: number): string
  getConversation(id: string): Conversation | undefined
  /** Newest message first (ties by id); `channel` filters. */
  listConversations(options?: { channel?: ConversationChannel; limit?: number }): Conversation[]
  /** Records an inbound message and its inbox state in one transaction; false (and no write) when already recorded. */
  recordInbound(input: InboundInput): boolean
  hasMessage(id: string): boolean
  message(id: string): Message | undefined
  /** The last `limit` messages (default 50, at most 10,000), oldest first. */
  messages(conversationId: string, options?: { limit?: number }): Message[]
  inboxState(id: string): InboxState | undefined
  /** Marks an inbound message handled under `term` by `machine`. */
  markHandled(id: string, term: number, machine: string, now: number): void
  /** Ids of inbound messages in state `received`, oldest first (ties by id). */
  received(): string[]
  /** Queues an outbound item; a no-op returning false when the id is taken. */
  enqueue(input: { id: string; conversationId: string; text: string; format?: OutboxFormat; replyTo?: string | null; by: string }, now: number): boolean
  outboxItem(id: string): OutboxItem | undefined
  outboxState(id: string): OutboxState | undefined
  /** Items queued or sending, oldest first (ties by id). */
  unsent(): OutboxItem[]
  markSending(id: string, term: number, attempt: number, machine: string, now: number): void
  /** Records the platform's id and the outbound message (id `out:<item id>`) in one transaction. */
  markSent(id: string, platformId: string, term: number, now: number): void
  markFailed(id: string, error: string, now: number): void
  /** Counts of inbox and outbox states; `channel` keeps those of its conversations. */
  counts(channel?: ConversationChannel): StateCounts
  /** Deletes finished inbox and outbox entries older than `now - retentionMs`; returns how many. */
  prune(now: number, retentionMs: number): number
  /** Fires after every transaction that touched the inbox or the outbox (local or remote). */
  onChange(fn: () => void): () => void
}

/** Room for the largest message: 64 KiB of text and its attachment descriptions (plainSize). */
const VALUE_SIZE = CONVERSATION_LIMITS.textLength + 8 * 1024
const KEY = CONVERSATION_LIMITS.idLength

/** What a peer's update of the conversations document may hold (see the layout above). */
export const CONVERSATIONS_SCHEMA: DocumentSchema = {
  roots: {
    conversations: { maxKeyLength: KEY, value: { kind: 'plain', maxSize: 2048 } },
    messages: { maxKeyLength: KEY, value: { kind: 'plain', maxSize: VALUE_SIZE } },
    inbox: { maxKeyLength: KEY, value: { kind: 'plain', maxSize: 1024 } },
    outbox: { maxKeyLength: KEY, value: { kind: 'plain', maxSize: VALUE_SIZE } },
    outboxState: { maxKeyLength: KEY, value: { kind: 'plain', maxSize: 2048 } },
  },
}

interface Indexed {
  at: number
  id: string
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const compareIndexed = (a: Indexed, b: Indexed): number => a.at - b.at || compareStrings(a.id, b.id)

export function createConversationsModel(doc: Y.Doc): ConversationsModel {
  const conversations = doc.getMap<unknown>('conversations')
  const messages = doc.getMap<unknown>('messages')
  const inbox = doc.getMap<unknown>('inbox')
  const outbox = doc.getMap<unknown>('outbox')
  const outboxState = doc.getMap<unknown>('outboxState')

  // Per conversation, its messages by (at, id); filled on first use.
  let byConversation: Map<string, Indexed[]> | null = null
  const indexed = new Map<string, { conversation: string; at: number }>()
  const insert = (id: string, value: unknown): void => {
    const m = decodeMessage(id, value)
    if (m === undefined || byConversation === null) return
    let list = byConversation.get(m.conversationId)
    if (list === undefined) byConversation.set(m.conversationId, (list = []))
    const entry = { at: m.at, id }
    // Appends come last in nearly every case: check the end before searching.
    const last = list[list.length - 1]
    if (last === undefined || compareIndexed(last, entry) < 0) list.push(entry)
    else {
      let lo = 0
      let hi = list.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (compareIndexed(list[mid] as Indexed, entry) < 0) lo = mid + 1
        else hi = mid
      }
      list.splice(lo, 0, entry)
    }
    indexed.set(id, { conversation: m.conversationId, at: m.at })
  }
  const remove = (id: string): void => {
    const where = indexed.get(id)
    if (where === undefined || byConversation === null) return
    indexed.delete(id)
    const list = byConversation.get(where.conversation) ?? []
    const i = list.findIndex((e) => e.id === id)
    if (i >= 0) list.splice(i, 1)
  }
  const index = (): Map<string, Indexed[]> => {
    if (byConversation === null) {
      byConversation = new Map()
      messages.forEach((value, id) => insert(id, value))
    }
    return byConversation
  }

  // Ids in state `received`: kept from the start (the leader asks for them after every change).
  const receivedSet = new Map<string, number>()
  inbox.forEach((v, id) => {
    const s = decodeInbox(v)
    if (s?.state === 'received') receivedSet.set(id, s.at)
  })
  const unsentSet = new Set<string>()
  outbox.forEach((_, id) => {
    const s = decodeOutboxState(outboxState.get(id)).state
    if (s === 'queued' || s === 'sending') unsentSet.add(id)
  })
  const refreshOutbox = (id: string): void => {
    const s = decodeOutboxState(outboxState.get(id)).state
    if (outbox.has(id) && (s === 'queued' || s === 'sending')) unsentSet.add(id)
    else unsentSet.delete(id)
  }

  doc.on('beforeObserverCalls', (tr: Y.Transaction) => {
    for (const [changed, keys] of tr.changed) {
      const type: unknown = changed
      for (const key of keys) {
        if (key === null) continue
        if (type === messages && byConversation !== null) {
          remove(key)
          if (messages.has(key)) insert(key, messages.get(key))
        } else if (type === inbox) {
          const s = decodeInbox(inbox.get(key))
          if (s?.state === 'received') receivedSet.set(key, s.at)
          else receivedSet.delete(key)
        } else if (type === outbox || type === outboxState) refreshOutbox(key)
      }
    }
  })

  const stats = (conversation: string): { count: number; lastAt: number | null } => {
    const list = index().get(conversation)
    return { count: list?.length ?? 0, lastAt: list === undefined || list.length === 0 ? null : (list[list.length - 1] as Indexed).at }
  }
  const build = (id: string): Conversation | undefined => {
    const c = decodeConversation(conversations.get(id))
    if (c === undefined) return undefined
    const s = stats(id)
    return { id, ...c, lastMessageAt: s.lastAt ?? c.createdAt, messages: s.count }
  }
  const checkLimit = (limit: unknown, fallback: number): number => {
    if (limit === undefined) return fallback
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > CONVERSATION_LIMITS.listLimit) {
      throw new ModelInputInvalidError('limit', `must be a whole number from 1 to ${CONVERSATION_LIMITS.listLimit}`)
    }
    return limit
  }
  const requireOutbox = (id: string): void => {
    checkId(id, 'id')
    if (!outbox.has(id)) throw new ModelInputInvalidError('id', `no outbox item ${id}`)
  }

  return {
    ensureConversation(input, now) {
      const id = checkId(input.id, 'id')
      const channel = checkChannel(input.channel)
      const ref = checkRef(input.ref)
      const title = checkTitle(input.title)
      const personId = checkNullableId(input.personId, 'personId')
      checkTime(now, 'now')
      const current = decodeConversation(conversations.get(id))
      if (current === undefined) conversations.set(id, { channel, ref, title, personId, createdAt: now })
      else if (current.title !== title || (personId !== null && current.personId !== personId)) {
        conversations.set(id, { ...current, title, personId: personId ?? current.personId })
      }
      return id
    },

    getConversation(id) {
      checkId(id, 'id')
      return build(id)
    },

    listConversations(options = {}) {
      const limit = checkLimit(options.limit, CONVERSATION_LIMITS.listLimit)
      const channel = options.channel === undefined ? undefined : checkChannel(options.channel)
      const out: Conversation[] = []
      for (const id of conversations.keys()) {
        const c = build(id)
        if (c !== undefined && (channel === undefined || c.channel === channel)) out.push(c)
      }
      return out.sort((a, b) => b.lastMessageAt - a.lastMessageAt || compareStrings(a.id, b.id)).slice(0, limit)
    },

    recordInbound(input) {
      const id = checkId(input.id, 'id')
      const conversation = checkId(input.conversationId, 'conversationId')
      const platformId = checkNullableId(input.platformId, 'platformId')
      const personId = checkNullableId(input.personId, 'personId')
      const text = checkText(input.text, 'text', true)
      const attachments = checkAttachments(input.attachments)
      const at = checkTime(input.at, 'at')
      if (messages.has(id)) return false
      doc.transact(() => {
        messages.set(id, { conversation, platformId, direction: 'in', personId, text, attachments, at })
        inbox.set(id, { state: input.held === true ? 'held' : 'received', at })
      })
      return true
    },

    hasMessage: (id) => messages.has(checkId(id, 'id')),

    message(id) {
      checkId(id, 'id')
      return decodeMessage(id, messages.get(id))
    },

    messages(conversationId, options = {}) {
      checkId(conversationId, 'conversationId')
      const limit = checkLimit(options.limit, 50)
      const list = index().get(conversationId) ?? []
      const out: Message[] = []
      for (const e of list.slice(Math.max(0, list.length - limit))) {
        const m = decodeMessage(e.id, messages.get(e.id))
        if (m !== undefined) out.push(m)
      }
      return out
    },

    inboxState(id) {
      checkId(id, 'id')
      return decodeInbox(inbox.get(id))
    },

    markHandled(id, term, machine, now) {
      checkId(id, 'id')
      inbox.set(id, { state: 'handled', at: checkTime(now, 'now'), term: checkTerm(term), machine: checkMachine(machine) })
    },

    received() {
      return [...receivedSet].sort((a, b) => a[1] - b[1] || compareStrings(a[0], b[0])).map(([id]) => id)
    },

    enqueue(input, now) {
      const id = checkId(input.id, 'id')
      const conversation = checkId(input.conversationId, 'conversationId')
      const text = checkText(input.text)
      const format = input.format ?? 'markdown'
      if (format !== 'markdown' && format !== 'text') throw new ModelInputInvalidError('format', 'must be markdown or text')
      const replyTo = checkNullableId(input.replyTo, 'replyTo')
      const by = checkMachine(input.by)
      checkTime(now, 'now')
      if (outbox.has(id)) return false
      outbox.set(id, { conversation, text, format, replyTo, createdAt: now, by })
      return true
    },

    outboxItem(id) {
      checkId(id, 'id')
      return decodeOutboxItem(id, outbox.get(id))
    },

    outboxState(id) {
      checkId(id, 'id')
      return outbox.has(id) ? decodeOutboxState(outboxState.get(id)) : undefined
    },

    unsent() {
      const out: OutboxItem[] = []
      for (const id of unsentSet) {
        const item = decodeOutboxItem(id, outbox.get(id))
        if (item !== undefined) out.push(item)
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || compareStrings(a.id, b.id))
    },

    markSending(id, term, attempt, machine, now) {
      requireOutbox(id)
      outboxState.set(id, { state: 'sending', term: checkTerm(term), attempt: checkTerm(attempt), machine: checkMachine(machine), at: checkTime(now, 'now') })
    },

    markSent(id, platformId, term, now) {
      requireOutbox(id)
      const item = decodeOutboxItem(id, outbox.get(id))
      checkId(platformId, 'platformId')
      checkTerm(term)
      checkTime(now, 'now')
      doc.transact(() => {
        outboxState.set(id, { state: 'sent', platformId, term, at: now })
        const messageId = `out:${id}`
        if (item !== undefined && !messages.has(messageId)) {
          messages.set(messageId, { conversation: item.conversationId, platformId, direction: 'out', personId: null, text: item.text, attachments: [], at: now })
        }
      })
    },

    markFailed(id, error, now) {
      requireOutbox(id)
      if (typeof error !== 'string') throw new ModelInputInvalidError('error', 'must be a string')
      outboxState.set(id, { state: 'failed', error: error.slice(0, CONVERSATION_LIMITS.errorLength), at: checkTime(now, 'now') })
    },

    counts(channel) {
      const ch = channel === undefined ? undefined : checkChannel(channel)
      const channelOf = new Map<string, string | undefined>()
      const inChannel = (conversation: string | undefined): boolean => {
        if (ch === undefined) return true
        if (conversation === undefined) return false
        if (!channelOf.has(conversation)) channelOf.set(conversation, decodeConversation(conversations.get(conversation))?.channel)
        return channelOf.get(conversation) === ch
      }
      const conversationOfMessage = (id: string): string | undefined => {
        const v = messages.get(id)
        return typeof v === 'object' && v !== null && typeof (v as { conversation?: unknown }).conversation === 'string' ? (v as { conversation: string }).conversation : undefined
      }
      const result: StateCounts = { inbox: { received: 0, handled: 0, held: 0 }, outbox: { queued: 0, sending: 0, sent: 0, failed: 0 }, oldestUnhandledAt: null }
      inbox.forEach((v, id) => {
        const s = decodeInbox(v)
        if (s === undefined || !inChannel(conversationOfMessage(id))) return
        result.inbox[s.state]++
        if (s.state === 'received' && (result.oldestUnhandledAt === null || s.at < result.oldestUnhandledAt)) result.oldestUnhandledAt = s.at
      })
      outbox.forEach((v, id) => {
        const item = decodeOutboxItem(id, v)
        if (item === undefined || !inChannel(item.conversationId)) return
        result.outbox[decodeOutboxState(outboxState.get(id)).state]++
      })
      return result
    },

    prune(now, retentionMs) {
      checkTime(now, 'now')
      if (typeof retentionMs !== 'number' || !Number.isFinite(retentionMs) || retentionMs < 0) {
        throw new ModelInputInvalidError('retentionMs', 'must be a non-negative number of milliseconds')
      }
      const before = now - retentionMs
      const inboxDone: string[] = []
      inbox.forEach((v, id) => {
        const s = decodeInbox(v)
        if (s !== undefined && s.state !== 'received' && s.at < before) inboxDone.push(id)
      })
      const outboxDone: string[] = []
      outboxState.forEach((v, id) => {
        const s = decodeOutboxState(v)
        if ((s.state === 'sent' || s.state === 'failed') && s.at < before) outboxDone.push(id)
      })
      if (inboxDone.length + outboxDone.length === 0) return 0
      doc.transact(() => {
        for (const id of inboxDone) inbox.delete(id)
        for (const id of outboxDone) {
          outbox.delete(id)
          outboxState.delete(id)
        }
      })
      return inboxDone.length + outboxDone.length
    },

    onChange(fn) {
      const listener = (tr: Y.Transaction): void => {
        for (const changed of tr.changed.keys()) {
          const type: unknown = changed
          if (type === inbox || type === outbox || type === outboxState) {
            fn()
            return
          }
        }
      }
      doc.on('afterTransaction', listener)
      return () => doc.off('afterTransaction', listener)
    },
  }
}
