/**
 * channels: the conversation pipeline (inbox → handler → outbox) that runs on whichever
 * machine leads, and the channels it drives (Telegram through grammy). Conversations, the
 * inbox and the outbox live in the `conversations` document, offsets, settings and health in
 * `channels` (crdt/), so a new leader carries on where the old one stopped.
 *
 *   const telegram = createTelegramChannel({ conversations, channels, relationships, token, committed, clock, logger, self })
 *   const pipeline = createChannelPipeline({ conversations, lease: mesh, channels: [telegram], handler: recordOnlyHandler, clock, logger, self, committed })
 *   pipeline.start()   // receives, hands over and sends only while this machine holds the lease
 *
 * Contract: an inbound message is recorded once (by its platform id) before the platform is
 * told it arrived; it is handed to the handler one at a time per conversation and marked
 * handled under the leader's term; an outbox item is marked `sending` (committed) before the
 * platform call and `sent` after, so it is sent twice only when a machine dies between the
 * two (counted in OutboxStats.resentAfterFailover). Errors: ChannelError codes (errors.ts).
 */
export { createChannelPipeline, DEFAULT_RETENTION_MS } from './pipeline.js'
export type { ChannelPipeline, ChannelPipelineDeps, ChannelPipelineOptions } from './pipeline.js'
export type { OutboxStats } from './outbox-sender.js'
export { replyId } from './dispatcher.js'
export { createMajorityConfirm } from './majority-confirm.js'
export type { MajorityConfirmDeps, MajorityConfirmOptions } from './majority-confirm.js'
export { recordOnlyHandler } from './ports.js'
export type { Channel, ConversationHandler, HandlerContext, HandlerReply, LeasePort, TermContext } from './ports.js'
export { createTelegramChannel, TELEGRAM_TOKEN_SECRET } from './telegram-channel.js'
export type { TelegramChannelDeps, TelegramChannelOptions } from './telegram-channel.js'
export { createTelegramApi, mapTelegramError, TELEGRAM_API_ROOT } from './telegram-api.js'
export type { TelegramApi, TelegramBot } from './telegram-api.js'
export { markdownToTelegram, textToTelegram, TELEGRAM_MESSAGE_LIMIT } from './telegram-format.js'
export { parseUpdate } from './telegram-updates.js'
export {
  ChannelConflictError,
  ChannelConversationNotFoundError,
  ChannelError,
  ChannelHandlerFailedError,
  ChannelNotConfiguredError,
  ChannelPlatformError,
  ChannelRateLimitedError,
  ChannelRecordUnconfirmedError,
  ChannelSendRefusedError,
  ChannelTokenInvalidError,
  ChannelTokenMissingError,
  ChannelUnknownError,
  ChannelUnreachableError,
  ChannelUpdateMalformedError,
  ChannelWebhookActiveError,
  isRetryable,
} from './errors.js'
export type { ChannelErrorCode } from './errors.js'
export { CHANNEL_ERROR_CODES } from './errors.js'
