/**
 * The Telegram channel: long-polls getUpdates on the leader only, records each update in the
 * conversations document, and sends outbox items as HTML messages.
 *
 * Polling, for one term: every call is fenced first. Each getUpdates is a long poll of
 * longPollS, watched against the lease: the watch wakes when the lease, as last renewed, has
 * only the margin left, and aborts the request unless the lease was renewed meanwhile (then it
 * sleeps until the new point). So a leader that keeps its quorum long-polls, whatever the
 * lease's length (350 ms with the default election timing), and a poll by a leader that stops
 * being renewed is closed a margin before its lease ends, before anyone else can lead. When the
 * term ends the request is aborted at once.
 *
 * Offsets: updates are recorded (idempotently, by bot id and update_id), and only once
 * `confirmed` resolves (the records committed, and in quorum mode held by a majority of the
 * voters: majority-confirm.ts) is the offset in the `channels` document moved past them;
 * Telegram learns it with the next getUpdates.
 *
 * 409 (another getUpdates ran at once) is counted and retried with backoff; 5xx and network
 * failures too. 429 on a send waits retry_after, per chat. A malformed update is refused,
 * logged, passed by the offset; the poller carries on.
 *
 * Who may talk: allowed user ids in the channels document. Anyone else's message is recorded
 * `held`; they get one short refusal and the owner one notice with the commands to allow or
 * block them. Each allowed user resolves to a person in relationships (created on first
 * contact), whose last interaction is updated.
 */
import type { ChannelsModel, Conversation, ConversationsModel, OutboxItem, RelationshipsModel } from '../crdt/index.js'
import type { Clock, Logger } from '../runtime/index.js'
import { ChannelConflictError, ChannelNotConfiguredError, ChannelRateLimitedError, ChannelTokenInvalidError } from './errors.js'
import type { Channel, TermContext } from './ports.js'
import { createTelegramApi, type TelegramApi } from './telegram-api.js'
import { markdownToTelegram, textToTelegram } from './telegram-format.js'
import { attachmentsOf, conversationOf, displayNameOf, parseUpdate, type TelegramMessage } from './telegram-updates.js'

export const TELEGRAM_TOKEN_SECRET = 'telegram.token'

export interface TelegramChannelDeps {
  conversations: ConversationsModel
  channels: ChannelsModel
  relationships: RelationshipsModel
  /** The bot token (from the secrets document), or null while none is set. */
  token(): string | null
  committed(): Promise<void>
  /** Resolves once the records made so far are held where a new leader will find them (createMajorityConfirm); default committed(). */
  confirmed?: () => Promise<void>
  clock: Clock
  logger: Logger
  self: string
  /** Builds the API client; default grammy's (createTelegramApi). Tests may wrap it. */
  api?: (token: string, apiRoot: string) => TelegramApi
}

export interface TelegramChannelOptions {
  /** Longest long-poll timeout, in seconds; default 25. */
  longPollS?: number
  /** An unrenewed lease with this much left closes the open poll; default 100 ms. */
  leaseMarginMs?: number
  /** With longPollS 0 (short polls), the wait after one that returned nothing; also the wait while the lease has only the margin left; default 250 ms. */
  shortPollIdleMs?: number
  /** First backoff after a failed poll (doubled up to maxBackoffMs); default 500 ms. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Wait while the channel is not set up; default 2000 ms. */
  unconfiguredWaitMs?: number
  /** Least time between two writes of the health record when nothing else changed; default 5000 ms. */
  healthEveryMs?: number
  /** Rate-limit waits of one chunk before the send fails (and the outbox retries); default 5. */
  maxRateLimitWaits?: number
}

const REFUSAL = "Sorry, I only talk with people I know. I've let my owner know you wrote."

export function createTelegramChannel(deps: TelegramChannelDeps, options: TelegramChannelOptions = {}): Channel & { stats(): { conflicts: number; polls: number; malformed: number } } {
  const { clock, logger, conversations, channels } = deps
  const longPollS = options.longPollS ?? 25
  const marginMs = options.leaseMarginMs ?? 100
  const idleMs = options.shortPollIdleMs ?? 250
  const backoffMs = options.backoffMs ?? 500
  const maxBackoffMs = options.maxBackoffMs ?? 30_000
  const unconfiguredWaitMs = options.unconfiguredWaitMs ?? 2000
  const healthEveryMs = options.healthEveryMs ?? 5000
  const maxRateLimitWaits = options.maxRateLimitWaits ?? 5
  const makeApi = deps.api ?? createTelegramApi
  const confirmed = deps.confirmed ?? deps.committed
  const stats = { conflicts: 0, polls: 0, malformed: 0 }
  /** Per chat, when the next message may go (429 retry_after). */
  const notBefore = new Map<string, number>()
  /** Per outbox item, the chunks already sent by this process (a retry skips them). */
  const progress = new Map<string, { parts: number; lastId: string }>()
  let cached: { key: string; api: TelegramApi } | null = null

  const connect = (): { api: TelegramApi; botId: string; owner: string | null } => {
    const settings = channels.settings('telegram')
    const token = deps.token()
    if (settings === undefined || token === null) throw new ChannelNotConfiguredError('telegram')
    const key = `${settings.apiRoot}\u0000${token}`
    if (cached?.key !== key) cached = { key, api: makeApi(token, settings.apiRoot) }
    return { api: cached.api, botId: settings.botId ?? token.split(':')[0] ?? 'bot', owner: settings.owner }
  }

  const personFor = (message: TelegramMessage, userId: string): string => {
    const people = deps.relationships
    const known = people.resolve({ platform: 'telegram', value: userId })
    if (known !== undefined) return known.id
    return people.addPerson({ displayName: displayNameOf(message), identities: [{ platform: 'telegram', value: userId }] }, clock.now())
  }

  const record = (botId: string, owner: string | null, updateId: number, message: TelegramMessage): void => {
    const conv = conversationOf(message)
    const userId = String(message.from?.id)
    const allowed = channels.isAllowed('telegram', userId)
    const now = clock.now()
    const personId = allowed ? personFor(message, userId) : null
    conversations.ensureConversation({ id: conv.id, channel: 'telegram', ref: { chatId: conv.chatId, topicId: conv.topicId }, title: conv.title, personId: message.chat.type === 'private' ? personId : null }, now)
    const recorded = conversations.recordInbound({
      id: `telegram:${botId}:${updateId}`,
      conversationId: conv.id,
      platformId: String(message.message_id),
      personId,
      text: (message.text ?? message.caption ?? '').slice(0, 64 * 1024),
      attachments: attachmentsOf(message),
      at: now,
      held: !allowed,
    })
    if (recorded && personId !== null) deps.relationships.recordInteraction(personId, now)
    if (allowed || channels.noticed('telegram', userId)) return
    // Keyed by the user: answered once, and the owner told once, whoever leads.
    conversations.enqueue({ id: `refusal:telegram:${userId}`, conversationId: conv.id, text: REFUSAL, format: 'text', by: deps.self }, now)
    if (owner !== null && owner !== userId) {
      const ownerConv = `telegram:${owner}`
      conversations.ensureConversation({ id: ownerConv, channel: 'telegram', ref: { chatId: owner, topicId: null }, title: 'owner', personId: null }, now)
      const who = `${displayNameOf(message)}${message.from?.username === undefined ? '' : ` (@${message.from.username})`}, user id ${userId}`
      conversations.enqueue(
        { id: `held:telegram:${userId}`, conversationId: ownerConv, text: `${who} wrote to me and is not on the allowlist. Allow: instar channels allow ${userId}  Block: instar channels block ${userId}`, format: 'text', by: deps.self },
        now,
      )
    }
    channels.markNoticed('telegram', userId, now)
  }

  const receive = async (ctx: TermContext): Promise<void> => {
    let failures = 0
    let lastHealthAt = -Infinity
    let lastError: { code: string; message: string; at: number } | null = null
    let lastPollAt: number | null = null
    let written = ''
    // Health is recorded only for a channel that is set up: an unconfigured one writes nothing.
    let configured = false
    const writeHealth = (force: boolean): void => {
      const state = `${lastError?.code ?? ''}|${stats.conflicts}`
      if (!force && state === written && clock.now() - lastHealthAt < healthEveryMs) return
      written = state
      lastHealthAt = clock.now()
      try {
        channels.setHealth('telegram', { poller: ctx.signal.aborted ? null : deps.self, term: ctx.term, lastPollAt, lastError, conflicts: stats.conflicts, at: clock.now() })
      } catch (err) {
        logger.warn({ code: (err as { code?: string }).code ?? 'INTERNAL' }, 'could not record channel health')
      }
    }
    const pause = (ms: number): Promise<void> => clock.sleep(ms, { signal: ctx.signal }).catch(() => undefined)

    while (!ctx.signal.aborted) {
      let link: ReturnType<typeof connect>
      try {
        ctx.fence()
        link = connect()
        configured = true
      } catch (err) {
        if ((err as { code?: string }).code === 'LEASE_TERM_STALE') return
        await pause(unconfiguredWaitMs)
        continue
      }
      const left = (ctx.leaseExpiresAt() ?? 0) - clock.now() - marginMs
      if (left <= 0) {
        await pause(Math.max(10, Math.min(idleMs, left + marginMs)))
        continue
      }
      // Aborted when the term ends, or when the lease, unrenewed, has only the margin left; the
      // listener and the watch released at once after.
      const deadline = new AbortController()
      const onEnd = (): void => deadline.abort(ctx.signal.reason)
      ctx.signal.addEventListener('abort', onEnd, { once: true })
      let watch = clock.setTimeout(function check(): void {
        const rest = (ctx.leaseExpiresAt() ?? 0) - clock.now() - marginMs
        if (rest <= 0) deadline.abort(new DOMException('the lease was not renewed in time', 'TimeoutError'))
        else watch = clock.setTimeout(check, rest)
      }, left)
      try {
        const raw = await link.api.getUpdates(channels.offset('telegram'), longPollS, deadline.signal).finally(() => {
          watch.cancel()
          ctx.signal.removeEventListener('abort', onEnd)
        })
        stats.polls++
        lastPollAt = clock.now()
        failures = 0
        lastError = null
        let next = -1
        for (const item of raw) {
          const parsed = parseUpdate(item)
          if (parsed.updateId !== null) next = Math.max(next, parsed.updateId + 1)
          if (parsed.kind === 'malformed') {
            stats.malformed++
            logger.warn({ code: parsed.error.code, updateId: parsed.updateId, detail: parsed.error.message }, 'a Telegram update was refused')
          } else if (parsed.kind === 'message') {
            record(link.botId, link.owner, parsed.updateId, parsed.message)
          }
        }
        if (next >= 0) {
          try {
            await confirmed()
            // Only past what is recorded (and held by a majority): the next poll confirms these to Telegram.
            channels.advanceOffset('telegram', next, ctx.term, clock.now())
          } catch (err) {
            // Not moved: Telegram hands the same updates over again, and recording them is idempotent.
            lastError = { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message ?? String(err), at: clock.now() }
            logger.warn({ code: lastError.code }, 'inbound records not confirmed; the offset stays')
          }
        }
        writeHealth(false)
        if (raw.length === 0 && longPollS === 0) await pause(idleMs)
      } catch (err) {
        if (ctx.signal.aborted) break
        const code = (err as { code?: string }).code ?? 'INTERNAL'
        if (code === 'LEASE_TERM_STALE') break
        // Our own deadline (the lease margin) passed while the request hung: try again at once.
        if ((err as { name?: string }).name === 'TimeoutError' || (err as { error?: { name?: string } }).error?.name === 'AbortError') continue
        failures++
        if (err instanceof ChannelConflictError) stats.conflicts++
        lastError = { code, message: (err as Error).message ?? String(err), at: clock.now() }
        logger.warn({ code, failures, conflicts: stats.conflicts }, 'a Telegram poll failed; backing off')
        writeHealth(true)
        const wait = err instanceof ChannelTokenInvalidError ? maxBackoffMs : Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(failures - 1, 16))
        await pause(wait)
      }
    }
    if (configured) writeHealth(true)
  }

  const waitForChat = async (chatId: string, ctx: TermContext): Promise<void> => {
    const until = notBefore.get(chatId) ?? 0
    const wait = until - clock.now()
    if (wait > 0) await clock.sleep(wait, { signal: ctx.signal })
  }

  return {
    name: 'telegram',
    receive,
    async send(item: OutboxItem, conversation: Conversation, ctx: TermContext) {
      const { api } = connect()
      const parts = item.format === 'markdown' ? markdownToTelegram(item.text) : textToTelegram(item.text)
      const replyTo = item.replyTo === null ? null : (conversations.message(item.replyTo)?.platformId ?? null)
      const chatId = conversation.ref.chatId
      const done = progress.get(item.id) ?? { parts: 0, lastId: '' }
      for (let i = done.parts; i < parts.length; i++) {
        for (let waits = 0; ; waits++) {
          await waitForChat(chatId, ctx)
          ctx.fence()
          try {
            done.lastId = await api.sendMessage(chatId, parts[i] as string, { topicId: conversation.ref.topicId, replyTo: i === 0 ? replyTo : null }, ctx.signal)
            break
          } catch (err) {
            if (!(err instanceof ChannelRateLimitedError) || waits >= maxRateLimitWaits) {
              progress.set(item.id, done)
              throw err
            }
            notBefore.set(chatId, clock.now() + err.retryAfterMs)
            logger.info({ code: err.code, chatId, retryAfterMs: err.retryAfterMs }, 'rate limited in a chat; waiting')
          }
        }
        done.parts = i + 1
      }
      progress.delete(item.id)
      return { platformId: done.lastId }
    },
    async typing(conversation, ctx) {
      const { api } = connect()
      ctx.fence()
      await api.sendTyping(conversation.ref.chatId, conversation.ref.topicId, ctx.signal)
    },
    stats: () => ({ ...stats }),
  }
}
