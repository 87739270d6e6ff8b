/**
 * The Bot API calls the Telegram channel makes, through grammy's Api client (pointed at
 * `apiRoot`: Telegram's own, a self-hosted Bot API server, or the tests' stand-in), with
 * grammy's errors mapped once to ours: 401/404 → CHANNEL_TOKEN_INVALID, 409 →
 * CHANNEL_CONFLICT, 429 → CHANNEL_RATE_LIMITED (retry_after), 400/403 → CHANNEL_SEND_REFUSED,
 * 5xx and network failures → CHANNEL_UNREACHABLE. The token never appears in an error.
 */
import { Api, GrammyError, HttpError } from 'grammy'
import {
  ChannelConflictError,
  ChannelPlatformError,
  ChannelRateLimitedError,
  ChannelSendRefusedError,
  ChannelTokenInvalidError,
  ChannelUnreachableError,
} from './errors.js'

export const TELEGRAM_API_ROOT = 'https://api.telegram.org'

export interface TelegramBot {
  id: string
  username: string | null
}

export interface TelegramApi {
  getMe(signal?: AbortSignal): Promise<TelegramBot>
  webhookUrl(signal?: AbortSignal): Promise<string>
  deleteWebhook(signal?: AbortSignal): Promise<void>
  /** The raw updates (validated by the caller). */
  getUpdates(offset: number, timeoutS: number, signal?: AbortSignal): Promise<unknown[]>
  sendMessage(chatId: string, html: string, options: { topicId: string | null; replyTo: string | null }, signal?: AbortSignal): Promise<string>
  sendTyping(chatId: string, topicId: string | null, signal?: AbortSignal): Promise<void>
  createForumTopic(chatId: string, name: string, signal?: AbortSignal): Promise<string>
}

/** Our error for what grammy threw; an abort by our own signal is passed on as it is. */
export function mapTelegramError(err: unknown, chatId: string | null = null): unknown {
  if (err instanceof GrammyError) {
    const status = err.error_code
    const detail = err.description.slice(0, 300)
    if (status === 401 || status === 404) return new ChannelTokenInvalidError('telegram', { cause: err })
    if (status === 409) return new ChannelConflictError(detail, { cause: err })
    if (status === 429) {
      const after = err.parameters.retry_after
      return new ChannelRateLimitedError((typeof after === 'number' && after >= 0 && after <= 86_400 ? after : 5) * 1000, chatId, { cause: err })
    }
    if (status === 400 || status === 403) return new ChannelSendRefusedError(status, detail, { cause: err })
    if (status >= 500) return new ChannelUnreachableError(`answered ${status}: ${detail}`, status, { cause: err })
    return new ChannelPlatformError(status, detail, { cause: err })
  }
  if (err instanceof HttpError) {
    const inner = err.error as { name?: string; code?: unknown; type?: unknown } | undefined
    if (inner?.name === 'AbortError') return err
    // The inner error's message names the URL, token and all: only its code is kept.
    const why = typeof inner?.code === 'string' ? inner.code : typeof inner?.type === 'string' ? inner.type : (inner?.name ?? 'unknown')
    return new ChannelUnreachableError(`${err.message.slice(0, 200)} (${why})`, null, { cause: err })
  }
  return err
}

const asInt = (s: string | null): number | undefined => (s === null ? undefined : Number(s))
/** grammy types its signal as its abort-controller shim's; it only listens for 'abort', which a standard signal fires. */
type GrammySignal = Parameters<Api['getMe']>[0]
const g = (signal: AbortSignal | undefined): GrammySignal => signal as unknown as GrammySignal

/**
 * Node's own fetch for grammy, rather than the node-fetch it bundles: node-fetch recognises an
 * abort signal by its class name, which a bundler renames, and then refuses every request.
 * grammy hands it its abort-controller shim's signal, which is followed here by a standard one.
 */
const standardFetch = (input: unknown, init?: { signal?: { aborted: boolean; addEventListener(type: 'abort', fn: () => void, options?: { once: boolean }): void } | null } & Record<string, unknown>): Promise<Response> => {
  const shim = init?.signal
  let signal: AbortSignal | undefined
  if (shim != null) {
    const controller = new AbortController()
    if (shim.aborted) controller.abort()
    else shim.addEventListener('abort', () => controller.abort(), { once: true })
    signal = controller.signal
  }
  const { signal: _ignored, agent: _agent, compress: _compress, ...rest } = init ?? {}
  return globalThis.fetch(input as string, { ...(rest as RequestInit), ...(signal === undefined ? {} : { signal }) })
}

export function createTelegramApi(token: string, apiRoot: string): TelegramApi {
  const api = new Api(token, { apiRoot: apiRoot.replace(/\/+$/, ''), fetch: standardFetch as never })
  const call = async <T>(fn: () => Promise<T>, chatId: string | null = null): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      throw mapTelegramError(err, chatId)
    }
  }
  return {
    getMe: (signal) => call(async () => {
      const me = await api.getMe(g(signal))
      return { id: String(me.id), username: me.username ?? null }
    }),
    webhookUrl: (signal) => call(async () => (await api.getWebhookInfo(g(signal))).url ?? ''),
    deleteWebhook: (signal) => call(async () => void (await api.deleteWebhook({ drop_pending_updates: false }, g(signal)))),
    getUpdates: (offset, timeoutS, signal) =>
      call(async () => {
        const result: unknown = await api.getUpdates({ offset, timeout: timeoutS, limit: 100, allowed_updates: ['message'] }, g(signal))
        if (!Array.isArray(result)) throw new ChannelPlatformError(200, 'getUpdates answered something other than a list')
        return result as unknown[]
      }),
    sendMessage: (chatId, html, options, signal) =>
      call(async () => {
        const topic = asInt(options.topicId)
        const reply = asInt(options.replyTo)
        const sent = await api.sendMessage(
          chatId,
          html,
          {
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
            ...(topic === undefined ? {} : { message_thread_id: topic }),
            ...(reply === undefined || !Number.isSafeInteger(reply) ? {} : { reply_parameters: { message_id: reply, allow_sending_without_reply: true } }),
          },
          g(signal),
        )
        return String(sent.message_id)
      }, chatId),
    sendTyping: (chatId, topicId, signal) =>
      call(async () => {
        const topic = asInt(topicId)
        await api.sendChatAction(chatId, 'typing', topic === undefined ? {} : { message_thread_id: topic }, g(signal))
      }, chatId),
    createForumTopic: (chatId, name, signal) => call(async () => String((await api.createForumTopic(chatId, name, {}, g(signal))).message_thread_id), chatId),
  }
}
