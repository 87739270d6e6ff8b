/** Typed errors of the channels concern. Codes are API: never renamed. */

/** Every code the channels concern throws, logs or reports. */
export type ChannelErrorCode =
  | 'CHANNEL_TOKEN_INVALID'
  | 'CHANNEL_TOKEN_MISSING'
  | 'CHANNEL_WEBHOOK_ACTIVE'
  | 'CHANNEL_NOT_CONFIGURED'
  | 'CHANNEL_UNKNOWN'
  | 'CHANNEL_UNREACHABLE'
  | 'CHANNEL_CONFLICT'
  | 'CHANNEL_RATE_LIMITED'
  | 'CHANNEL_SEND_REFUSED'
  | 'CHANNEL_UPDATE_MALFORMED'
  | 'CHANNEL_HANDLER_FAILED'
  | 'CHANNEL_CONVERSATION_NOT_FOUND'
  | 'CHANNEL_PLATFORM_ERROR'
  | 'CHANNEL_RECORD_UNCONFIRMED'

/** The same codes as a list, for the exhaustive code map in node/. */
export const CHANNEL_ERROR_CODES = [
  'CHANNEL_TOKEN_INVALID',
  'CHANNEL_TOKEN_MISSING',
  'CHANNEL_WEBHOOK_ACTIVE',
  'CHANNEL_NOT_CONFIGURED',
  'CHANNEL_UNKNOWN',
  'CHANNEL_UNREACHABLE',
  'CHANNEL_CONFLICT',
  'CHANNEL_RATE_LIMITED',
  'CHANNEL_SEND_REFUSED',
  'CHANNEL_UPDATE_MALFORMED',
  'CHANNEL_HANDLER_FAILED',
  'CHANNEL_CONVERSATION_NOT_FOUND',
  'CHANNEL_PLATFORM_ERROR',
  'CHANNEL_RECORD_UNCONFIRMED',
] as const satisfies readonly ChannelErrorCode[]

export class ChannelError extends Error {
  readonly code: ChannelErrorCode
  constructor(code: ChannelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The platform refused the bot token (Telegram getMe answered 401 or 404). */
export class ChannelTokenInvalidError extends ChannelError {
  readonly channel: string
  constructor(channel: string, options?: { cause?: unknown }) {
    super('CHANNEL_TOKEN_INVALID', `the ${channel} bot token was refused; check it with @BotFather and add the channel again`, options)
    this.channel = channel
  }
}

/** No token was given (empty stdin or file). */
export class ChannelTokenMissingError extends ChannelError {
  constructor(channel: string) {
    super('CHANNEL_TOKEN_MISSING', `no ${channel} bot token given: pipe it on stdin or pass --token-file FILE (never as an argument)`)
  }
}

/** The bot still has a webhook, which stops getUpdates; removed only with consent. */
export class ChannelWebhookActiveError extends ChannelError {
  readonly url: string
  constructor(url: string) {
    super('CHANNEL_WEBHOOK_ACTIVE', `the bot has a webhook set (${url}), so polling cannot work; add the channel again with --remove-webhook to remove it`)
    this.url = url
  }
}

/** The channel has not been added. */
export class ChannelNotConfiguredError extends ChannelError {
  readonly channel: string
  constructor(channel: string) {
    super('CHANNEL_NOT_CONFIGURED', `the ${channel} channel is not set up; add it with "instar channels add ${channel}"`)
    this.channel = channel
  }
}

/** A channel name this build does not know. */
export class ChannelUnknownError extends ChannelError {
  constructor(channel: string) {
    super('CHANNEL_UNKNOWN', `unknown channel "${channel.slice(0, 40)}"; known: telegram`)
  }
}

/** The platform could not be reached (network failure, timeout, 5xx). Retried. */
export class ChannelUnreachableError extends ChannelError {
  readonly status: number | null
  constructor(detail: string, status: number | null, options?: { cause?: unknown }) {
    super('CHANNEL_UNREACHABLE', `the platform could not be reached: ${detail}`, options)
    this.status = status
  }
}

/** Another getUpdates ran at once (Telegram 409): some other process polls the same bot. Retried with backoff. */
export class ChannelConflictError extends ChannelError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('CHANNEL_CONFLICT', `another poller took the bot's updates (409): ${detail}`, options)
  }
}

/** The platform asked to wait (Telegram 429 with retry_after). */
export class ChannelRateLimitedError extends ChannelError {
  readonly retryAfterMs: number
  readonly chatId: string | null
  constructor(retryAfterMs: number, chatId: string | null, options?: { cause?: unknown }) {
    super('CHANNEL_RATE_LIMITED', `rate limited${chatId === null ? '' : ` in chat ${chatId}`}: retry after ${Math.ceil(retryAfterMs / 1000)} s`, options)
    this.retryAfterMs = retryAfterMs
    this.chatId = chatId
  }
}

/** The platform refused a message for good (400, 403: chat not found, bot blocked, bad HTML). Not retried. */
export class ChannelSendRefusedError extends ChannelError {
  readonly status: number
  constructor(status: number, detail: string, options?: { cause?: unknown }) {
    super('CHANNEL_SEND_REFUSED', `the platform refused the message (${status}): ${detail}`, options)
    this.status = status
  }
}

/** An update from the platform did not pass its schema; it is skipped (its offset passed), never applied. */
export class ChannelUpdateMalformedError extends ChannelError {
  readonly updateId: number | null
  constructor(updateId: number | null, detail: string) {
    super('CHANNEL_UPDATE_MALFORMED', `update ${updateId ?? '?'} refused: ${detail}`)
    this.updateId = updateId
  }
}

/** The conversation handler threw; the message stays received and is tried again. */
export class ChannelHandlerFailedError extends ChannelError {
  readonly messageId: string
  constructor(messageId: string, options?: { cause?: unknown }) {
    super('CHANNEL_HANDLER_FAILED', `the conversation handler failed on message ${messageId}`, options)
    this.messageId = messageId
  }
}

/** No conversation has this id. */
export class ChannelConversationNotFoundError extends ChannelError {
  readonly conversationId: string
  constructor(conversationId: string) {
    super('CHANNEL_CONVERSATION_NOT_FOUND', `no conversation ${conversationId.slice(0, 80)}; list them with "instar conversations list"`)
    this.conversationId = conversationId
  }
}

/** Any other error answer of the platform. */
export class ChannelPlatformError extends ChannelError {
  readonly status: number
  constructor(status: number, detail: string, options?: { cause?: unknown }) {
    super('CHANNEL_PLATFORM_ERROR', `the platform answered ${status}: ${detail}`, options)
    this.status = status
  }
}

/** Inbound records did not reach a majority of voters in time: the offset stays, and the platform hands the updates over again. */
export class ChannelRecordUnconfirmedError extends ChannelError {
  readonly holders: number
  readonly needed: number
  constructor(holders: number, needed: number) {
    super('CHANNEL_RECORD_UNCONFIRMED', `inbound records are held by ${holders} of the ${needed} voters needed; the offset is not moved (check "instar mesh status")`)
    this.holders = holders
    this.needed = needed
  }
}

/** Whether a send that failed so may be tried again later. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ChannelUnreachableError || err instanceof ChannelRateLimitedError || err instanceof ChannelConflictError
}
