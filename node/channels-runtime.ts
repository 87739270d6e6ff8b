/** The channel pipeline of a member node, wired to its mesh (lease) and agent state: started once the state is loaded. */
import {
  createChannelPipeline,
  createMajorityConfirm,
  createTelegramChannel,
  recordOnlyHandler,
  TELEGRAM_TOKEN_SECRET,
  type ChannelPipeline,
  type ConversationHandler,
} from '../channels/index.js'
import type { AgentState } from '../crdt/index.js'
import type { Mesh } from '../mesh/index.js'
import type { Clock, Logger } from '../runtime/index.js'

export interface ChannelsRuntime {
  readonly pipeline: ChannelPipeline
  readonly telegram: ReturnType<typeof createTelegramChannel>
  stop(): void
}

export function startChannelsRuntime(deps: { mesh: Mesh; state: AgentState; clock: Clock; logger: Logger; handler?: ConversationHandler; retentionMs?: number }): ChannelsRuntime {
  const { mesh, state, clock, logger } = deps
  const self = mesh.peerId
  const committed = (): Promise<void> => state.documents.committed()
  const confirmed = createMajorityConfirm({
    committed,
    clock,
    mode: () => mesh.leader().mode,
    voters: () => mesh.status().members + mesh.status().witnesses,
    syncStatus: () => state.sync.status(),
  })
  const telegram = createTelegramChannel({
    conversations: state.conversations,
    channels: state.channels,
    relationships: state.relationships,
    token: () => (state.secrets.has(TELEGRAM_TOKEN_SECRET) ? state.secrets.get(TELEGRAM_TOKEN_SECRET) : null),
    committed,
    confirmed,
    clock,
    logger,
    self,
  })
  const pipeline = createChannelPipeline({ conversations: state.conversations, lease: mesh, channels: [telegram], handler: deps.handler ?? recordOnlyHandler, clock, logger, self, committed, confirmed }, deps.retentionMs === undefined ? {} : { retentionMs: deps.retentionMs })
  pipeline.start()
  return { pipeline, telegram, stop: () => pipeline.stop() }
}
