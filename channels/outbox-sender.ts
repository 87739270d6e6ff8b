/**
 * The outbox, sent by the leader for one term: each queued item, one at a time per
 * conversation (oldest first), is marked `sending` (term, attempt) and that mark committed
 * BEFORE the platform call, and `sent` (the platform's id, term) after it. The term is fenced
 * before the mark and again right before the call.
 *
 * So an item is sent twice only when a machine died (or lost its lease) between the call and
 * the record of its answer: the next leader finds it `sending` under an older term and sends
 * it again, since the platform has no idempotency key. Those resends are counted
 * (`resentAfterFailover`), as are retries after a network failure whose request may have
 * arrived (`uncertainRetries`).
 */
import type { ConversationsModel, OutboxItem } from '../crdt/index.js'
import type { Clock, Logger, TimerHandle } from '../runtime/index.js'
import { ChannelConversationNotFoundError, ChannelRateLimitedError, ChannelUnknownError, ChannelUnreachableError, isRetryable } from './errors.js'
import type { Channel, TermContext } from './ports.js'

export interface OutboxStats {
  sent: number
  failed: number
  resentAfterFailover: number
  uncertainRetries: number
}

export interface OutboxSenderDeps {
  conversations: ConversationsModel
  channel(name: string): Channel | undefined
  clock: Clock
  logger: Logger
  self: string
  /**
   * Resolves once every write made before the call is held where the next leader finds it
   * (majority-confirm.ts; documents.committed where there is no majority to wait for), so that
   * a `sending` mark is seen by whoever leads next before the platform call is made.
   */
  committed(): Promise<void>
  stats: OutboxStats
}

export interface OutboxSenderOptions {
  /** First wait after a retryable failure; doubled each time up to retryMaxMs. Default 500 ms. */
  retryBaseMs?: number
  retryMaxMs?: number
  /** Attempts (in this term) before a retryable failure becomes `failed`; default 20. */
  maxAttempts?: number
}

export function startOutboxSender(deps: OutboxSenderDeps, ctx: TermContext, options: OutboxSenderOptions = {}): () => void {
  const { conversations, clock, logger } = deps
  const retryBaseMs = options.retryBaseMs ?? 500
  const retryMaxMs = options.retryMaxMs ?? 60_000
  const maxAttempts = options.maxAttempts ?? 20
  const busy = new Set<string>()
  const waiting = new Set<string>()
  const attemptsHere = new Map<string, number>()
  const timers = new Set<TimerHandle>()
  let stopped = false

  const retryLater = (id: string, ms: number): void => {
    waiting.add(id)
    const timer = clock.setTimeout(() => {
      timers.delete(timer)
      waiting.delete(id)
      pump()
    }, ms)
    timers.add(timer)
  }

  const sendOne = async (item: OutboxItem): Promise<void> => {
    const state = conversations.outboxState(item.id)
    if (state === undefined || state.state === 'sent' || state.state === 'failed') return
    const previous = state.state === 'sending' ? state : null
    if (previous !== null && previous.term !== ctx.term && (attemptsHere.get(item.id) ?? 0) === 0) deps.stats.resentAfterFailover++
    const attempt = (previous?.attempt ?? 0) + 1
    const conversation = conversations.getConversation(item.conversationId)
    const channel = conversation === undefined ? undefined : deps.channel(conversation.channel)
    ctx.fence()
    if (conversation === undefined || channel === undefined) {
      const err = conversation === undefined ? new ChannelConversationNotFoundError(item.conversationId) : new ChannelUnknownError(conversation.channel)
      conversations.markFailed(item.id, `${err.code}: ${err.message}`, clock.now())
      deps.stats.failed++
      return
    }
    conversations.markSending(item.id, ctx.term, attempt, deps.self, clock.now())
    try {
      await deps.committed()
    } catch (err) {
      // Not held by a majority (or not committed): no call is made; tried again later.
      logger.warn({ code: (err as { code?: string }).code ?? 'INTERNAL', outboxId: item.id }, 'the sending mark is not confirmed; not sending yet')
      retryLater(item.id, retryBaseMs)
      return
    }
    ctx.fence()
    try {
      const { platformId } = await channel.send(item, conversation, ctx)
      // Recorded whatever the term now: it was sent, and the record is what stops a resend.
      conversations.markSent(item.id, platformId, ctx.term, clock.now())
      deps.stats.sent++
      attemptsHere.delete(item.id)
      await deps.committed()
    } catch (err) {
      if (stopped || (err as { code?: string }).code === 'LEASE_TERM_STALE') return
      const tries = (attemptsHere.get(item.id) ?? 0) + 1
      attemptsHere.set(item.id, tries)
      const code = (err as { code?: string }).code ?? 'INTERNAL'
      if (isRetryable(err) && tries < maxAttempts) {
        if (err instanceof ChannelUnreachableError) deps.stats.uncertainRetries++
        const wait = err instanceof ChannelRateLimitedError ? err.retryAfterMs : Math.min(retryMaxMs, retryBaseMs * 2 ** (tries - 1))
        logger.warn({ code, outboxId: item.id, tries, waitMs: wait }, 'sending failed; trying again later')
        retryLater(item.id, wait)
        return
      }
      logger.warn({ code, outboxId: item.id, tries, err }, 'sending failed for good')
      conversations.markFailed(item.id, `${code}: ${(err as Error).message ?? String(err)}`, clock.now())
      deps.stats.failed++
    }
  }

  const pump = (): void => {
    if (stopped || ctx.signal.aborted) return
    const considered = new Set<string>()
    for (const item of conversations.unsent()) {
      if (considered.has(item.conversationId)) continue
      considered.add(item.conversationId)
      if (waiting.has(item.id) || busy.has(item.conversationId)) continue
      busy.add(item.conversationId)
      void sendOne(item)
        .catch((err: unknown) => {
          if (!stopped && (err as { code?: string }).code !== 'LEASE_TERM_STALE') logger.warn({ code: (err as { code?: string }).code ?? 'INTERNAL', outboxId: item.id, err }, 'the outbox sender stopped on an item')
        })
        .finally(() => {
          busy.delete(item.conversationId)
          pump()
        })
    }
  }

  const off = conversations.onChange(pump)
  pump()
  return () => {
    stopped = true
    off()
    for (const t of timers) t.cancel()
    timers.clear()
  }
}
