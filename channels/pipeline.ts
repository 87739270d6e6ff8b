/**
 * The conversation pipeline of one machine: while it holds the lease, for that term, every
 * channel receives, the dispatcher hands received messages to the handler, and the outbox
 * sender sends; on losing the lease (or on stop) all of it stops at once, aborting what is in
 * flight. Finished inbox and outbox entries are pruned on every machine (the same deletion,
 * wherever it runs first).
 */
import { setMaxListeners } from 'node:events'
import type { ConversationsModel } from '../crdt/index.js'
import type { Clock, Logger, TimerHandle } from '../runtime/index.js'
import { startDispatcher, type DispatcherOptions } from './dispatcher.js'
import { startOutboxSender, type OutboxSenderOptions, type OutboxStats } from './outbox-sender.js'
import type { Channel, ConversationHandler, LeasePort, TermContext } from './ports.js'

export interface ChannelPipelineDeps {
  conversations: ConversationsModel
  lease: LeasePort
  channels: Channel[]
  handler: ConversationHandler
  clock: Clock
  logger: Logger
  /** This machine's peer id. */
  self: string
  committed(): Promise<void>
  /** Resolves once writes made so far are held where the next leader finds them (createMajorityConfirm); default committed. */
  confirmed?: () => Promise<void>
  onHandlerStart?: (messageId: string) => void
}

export interface ChannelPipelineOptions {
  /** How long finished inbox and outbox entries are kept; default 7 days. */
  retentionMs?: number
  /** How often they are pruned; default 1 hour. */
  pruneEveryMs?: number
  dispatcher?: DispatcherOptions
  outbox?: OutboxSenderOptions
}

export interface ChannelPipeline {
  start(): void
  stop(): void
  /** The term this machine runs the pipeline under, or null while it does not lead. */
  runningTerm(): number | null
  outboxStats(): OutboxStats
}

export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000

export function createChannelPipeline(deps: ChannelPipelineDeps, options: ChannelPipelineOptions = {}): ChannelPipeline {
  const { clock, logger, lease } = deps
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS
  const pruneEveryMs = options.pruneEveryMs ?? 3600_000
  const stats: OutboxStats = { sent: 0, failed: 0, resentAfterFailover: 0, uncertainRetries: 0 }
  const byName = new Map(deps.channels.map((c) => [c.name as string, c]))
  let current: { term: number; controller: AbortController; stops: Array<() => void> } | null = null
  let offs: Array<() => void> = []
  let pruneTimer: TimerHandle | null = null
  let started = false

  const stopTerm = (reason: string): void => {
    if (current === null) return
    const { term, controller, stops } = current
    current = null
    controller.abort(new Error(`lease of term ${term} ended: ${reason}`))
    for (const stop of stops) stop()
    logger.info({ term, reason }, 'channels stopped')
  }

  const startTerm = (term: number, leaseSignal: AbortSignal | null): void => {
    if (current?.term === term) return
    stopTerm('a newer term')
    const controller = new AbortController()
    // Every send, poll and handler of the term listens to it at once: many listeners by design.
    setMaxListeners(1000, controller.signal)
    if (leaseSignal !== null) {
      if (leaseSignal.aborted) return
      leaseSignal.addEventListener('abort', () => stopTerm('lease signal'), { once: true })
    }
    const ctx: TermContext = {
      term,
      signal: controller.signal,
      fence: () => lease.fence(term),
      leaseExpiresAt: () => {
        const info = lease.leader()
        return info.role === 'leader' && info.term === term ? info.leaseExpiresAt : null
      },
    }
    const stops: Array<() => void> = []
    current = { term, controller, stops }
    logger.info({ term, channels: [...byName.keys()] }, 'channels starting on this machine (it leads)')
    for (const channel of deps.channels) {
      channel.receive(ctx).catch((err: unknown) => logger.error({ code: (err as { code?: string }).code ?? 'INTERNAL', channel: channel.name, err }, 'a channel receiver stopped'))
    }
    const channel = (name: string): Channel | undefined => byName.get(name)
    stops.push(startDispatcher({ conversations: deps.conversations, handler: deps.handler, channel, clock, logger, self: deps.self, ...(deps.onHandlerStart === undefined ? {} : { onHandlerStart: deps.onHandlerStart }) }, ctx, options.dispatcher))
    stops.push(startOutboxSender({ conversations: deps.conversations, channel, clock, logger, self: deps.self, committed: deps.confirmed ?? deps.committed, stats }, ctx, options.outbox))
  }

  const prune = (): void => {
    try {
      const n = deps.conversations.prune(clock.now(), retentionMs)
      if (n > 0) logger.info({ pruned: n }, 'pruned finished inbox and outbox entries')
    } catch (err) {
      logger.warn({ code: (err as { code?: string }).code ?? 'INTERNAL', err }, 'pruning failed')
    }
  }

  return {
    start() {
      if (started) return
      started = true
      offs = [
        lease.onLease('lease:acquired', (e) => startTerm(e.term, e.signal)),
        lease.onLease('lease:lost', (e) => {
          if (current?.term === e.term) stopTerm(e.reason)
        }),
      ]
      const info = lease.leader()
      if (info.role === 'leader') {
        try {
          lease.fence(info.term)
          startTerm(info.term, null)
        } catch {
          // Not a held lease after all: the next lease:acquired starts it.
        }
      }
      prune()
      pruneTimer = clock.setInterval(prune, pruneEveryMs)
    },
    stop() {
      if (!started) return
      started = false
      for (const off of offs) off()
      offs = []
      pruneTimer?.cancel()
      pruneTimer = null
      stopTerm('pipeline stopped')
    },
    runningTerm: () => current?.term ?? null,
    outboxStats: () => ({ ...stats }),
  }
}
