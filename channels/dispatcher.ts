/**
 * Inbox → handler, on the leader, for one term: every `received` message is handed to the
 * conversation handler, one at a time per conversation (in time order), and marked `handled`
 * under the term, with its replies queued in the outbox, in the same turn (so in one group
 * commit: a crash leaves either both or neither). The term is fenced before the mark: a
 * handler that finishes after the lease was lost records nothing, and the next leader hands
 * the message over again (its replies are keyed by the message, so they are queued once).
 */
import type { ConversationsModel } from '../crdt/index.js'
import type { Clock, Logger, TimerHandle } from '../runtime/index.js'
import { ChannelHandlerFailedError } from './errors.js'
import type { Channel, ConversationHandler, TermContext } from './ports.js'

export interface DispatcherDeps {
  conversations: ConversationsModel
  handler: ConversationHandler
  channel(name: string): Channel | undefined
  clock: Clock
  logger: Logger
  /** This machine's peer id, recorded as the one that handled. */
  self: string
  /** Called when a message started being handled (for the bench). */
  onHandlerStart?: (messageId: string) => void
}

export interface DispatcherOptions {
  /** Wait before a failed handler gets the message again; default 1000 ms. */
  retryMs?: number
  /** Tries before a message whose handler keeps failing is marked handled anyway; default 3. */
  maxAttempts?: number
  /** How often the typing indicator is renewed while a handler runs; default 4000 ms. */
  typingEveryMs?: number
}

/** The key of a handler's nth reply to a message: the same on every machine that handles it. */
export const replyId = (messageId: string, n: number): string => `reply:${messageId}:${n}`

export function startDispatcher(deps: DispatcherDeps, ctx: TermContext, options: DispatcherOptions = {}): () => void {
  const { conversations, clock, logger } = deps
  const retryMs = options.retryMs ?? 1000
  const maxAttempts = options.maxAttempts ?? 3
  const typingEveryMs = options.typingEveryMs ?? 4000
  const busy = new Set<string>()
  const failures = new Map<string, number>()
  const waiting = new Set<string>()
  const timers = new Set<TimerHandle>()
  let stopped = false

  const handleOne = async (id: string, conversationId: string): Promise<void> => {
    const message = conversations.message(id)
    const conversation = conversations.getConversation(conversationId)
    if (message === undefined || conversation === undefined) return
    const channel = deps.channel(conversation.channel)
    const typing = (): void => {
      if (channel?.typing === undefined || stopped) return
      channel.typing(conversation, ctx).catch((err: unknown) => logger.debug({ code: (err as { code?: string }).code, conversationId }, 'typing indicator failed'))
    }
    typing()
    const typingTimer = clock.setInterval(typing, typingEveryMs)
    deps.onHandlerStart?.(id)
    try {
      const replies = (await deps.handler.handle(message, { conversation, term: ctx.term, signal: ctx.signal, history: (limit) => conversations.messages(conversationId, { limit }) })) ?? []
      ctx.fence()
      // One turn: the replies and the mark share a group commit.
      replies.forEach((r, n) => conversations.enqueue({ id: replyId(id, n), conversationId, text: r.text, format: r.format ?? 'markdown', replyTo: id, by: deps.self }, clock.now()))
      conversations.markHandled(id, ctx.term, deps.self, clock.now())
      failures.delete(id)
    } catch (err) {
      if (stopped || ctx.signal.aborted) return
      if ((err as { code?: string }).code === 'LEASE_TERM_STALE') return
      const tries = (failures.get(id) ?? 0) + 1
      failures.set(id, tries)
      const failure = new ChannelHandlerFailedError(id, { cause: err })
      logger.warn({ code: failure.code, messageId: id, tries, err }, 'the conversation handler failed')
      if (tries >= maxAttempts) {
        ctx.fence()
        conversations.markHandled(id, ctx.term, deps.self, clock.now())
        failures.delete(id)
        return
      }
      waiting.add(id)
      const timer = clock.setTimeout(() => {
        timers.delete(timer)
        waiting.delete(id)
        pump()
      }, retryMs)
      timers.add(timer)
    } finally {
      typingTimer.cancel()
    }
  }

  const pump = (): void => {
    if (stopped || ctx.signal.aborted) return
    // Only the oldest received message of each conversation may go: order within a conversation.
    const considered = new Set<string>()
    for (const id of conversations.received()) {
      const conversationId = conversations.message(id)?.conversationId
      if (conversationId === undefined || considered.has(conversationId)) continue
      considered.add(conversationId)
      if (waiting.has(id) || busy.has(conversationId)) continue
      busy.add(conversationId)
      void handleOne(id, conversationId)
        .catch((err: unknown) => {
          if (!stopped) logger.warn({ code: (err as { code?: string }).code ?? 'CHANNEL_HANDLER_FAILED', messageId: id }, 'handing a message over stopped')
        })
        .finally(() => {
          busy.delete(conversationId)
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
