/** The channel pipeline with a Telegram channel (real grammy) on a test node's agent state, stopped when the test ends. */
import { onTestFinished } from 'vitest'
import { createChannelPipeline, createMajorityConfirm, createTelegramChannel, TELEGRAM_TOKEN_SECRET, type ChannelPipeline, type ConversationHandler, type TelegramChannelOptions } from '../../channels/index.js'
import type { AgentState } from '../../crdt/index.js'
import { createSystemClock, silentLogger, type Logger } from '../../runtime/index.js'
import type { StandIn } from './bot-api-standin.js'
import type { StatefulNode } from './agent-state.js'

/** Replies "echo: TEXT" to every message. */
export const echoHandler: ConversationHandler = {
  handle: async (message) => [{ text: `echo: ${message.text}`, format: 'text' }],
}

/** Writes the channel's settings, token and allowlist into the agent state (as `channels add telegram` does). */
export function configureTelegram(state: AgentState, standIn: StandIn, allow: string[]): void {
  const now = createSystemClock().now()
  state.channels.configure({ channel: 'telegram', apiRoot: standIn.apiRoot, owner: allow[0] ?? null, botId: String(standIn.bot.id), botUsername: standIn.bot.username, addedAt: now })
  state.secrets.set(TELEGRAM_TOKEN_SECRET, standIn.token, now)
  for (const user of allow) state.channels.setAllowed('telegram', user, true, now)
}

export interface ChannelNode {
  pipeline: ChannelPipeline
  telegram: ReturnType<typeof createTelegramChannel>
  stop(): void
}

export function startChannels(node: StatefulNode, handler: ConversationHandler, options: { telegram?: TelegramChannelOptions; logger?: Logger } = {}): ChannelNode {
  const { state } = node
  const clock = createSystemClock()
  const logger = options.logger ?? silentLogger
  const self = node.node.mesh.peerId
  const committed = () => state.documents.committed()
  const mesh = node.node.mesh
  const confirmed = createMajorityConfirm({
    committed,
    clock,
    mode: () => mesh.leader().mode,
    voters: () => mesh.status().members + mesh.status().witnesses,
    syncStatus: () => state.sync.status(),
  })
  const telegram = createTelegramChannel(
    {
      conversations: state.conversations,
      channels: state.channels,
      relationships: state.relationships,
      token: () => (state.secrets.has(TELEGRAM_TOKEN_SECRET) ? state.secrets.get(TELEGRAM_TOKEN_SECRET) : null),
      committed,
      confirmed,
      clock,
      logger,
      self,
    },
    { shortPollIdleMs: 20, backoffMs: 50, maxBackoffMs: 500, unconfiguredWaitMs: 50, ...options.telegram },
  )
  const pipeline = createChannelPipeline(
    { conversations: state.conversations, lease: node.node.mesh, channels: [telegram], handler, clock, logger, self, committed, confirmed },
    { dispatcher: { retryMs: 50 }, outbox: { retryBaseMs: 50, retryMaxMs: 500 } },
  )
  pipeline.start()
  let stopped = false
  const stop = (): void => {
    if (stopped) return
    stopped = true
    pipeline.stop()
  }
  onTestFinished(stop)
  return { pipeline, telegram, stop }
}
