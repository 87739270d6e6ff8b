/**
 * A stand-in for Telegram's Bot API on loopback (fastify), for grammy pointed at it with its
 * apiRoot. It keeps updates until a getUpdates offset confirms them (as Telegram does), answers
 * a getUpdates that overlaps another with 409 to the EARLIER one, and implements sendMessage,
 * sendChatAction, getMe, createForumTopic, getFile, getWebhookInfo and deleteWebhook. Switches:
 * latency, 5xx answers, 429 with retry_after per chat, and network failure (the socket is
 * destroyed). Stopped when the test ends.
 */
import Fastify, { type FastifyReply } from 'fastify'
import { onTestFinished } from 'vitest'
import { createSystemClock, type Clock, type TimerHandle } from '../../runtime/index.js'

export interface SentMessage {
  chatId: string
  topicId: number | null
  text: string
  parseMode: string | null
  replyTo: number | null
  messageId: number
}

export interface StandIn {
  apiRoot: string
  token: string
  bot: { id: number; username: string }
  /** Queues an update (a message from `userId` in `chatId`); returns its update_id. */
  pushMessage(m: { chatId: number; userId: number; text: string; topicId?: number; firstName?: string; chatType?: 'private' | 'supergroup' }): number
  /** Queues anything as an update (for hostile input). */
  pushRaw(update: unknown): void
  /** Updates not yet confirmed by an offset. */
  pending(): number
  /** A long poll is open (a getUpdates waiting for updates, its connection still up). */
  polling(): boolean
  sent: SentMessage[]
  chatActions: Array<{ chatId: string; action: string }>
  stats: { getUpdates: number; conflicts: number; requests: number }
  switches: {
    latencyMs: number
    /** The next n requests answer 502. */
    fail5xx: number
    /** The next n requests have their socket destroyed. */
    dropConnections: number
    /** Every request's socket is destroyed while true. */
    unreachable: boolean
    /** Per chat id: sendMessage answers 429 with retry_after (seconds) this many times. */
    rateLimit: Map<string, { retryAfterS: number; times: number }>
    webhookUrl: string
  }
  stop(): Promise<void>
}

interface Poll {
  reply: FastifyReply
  finish: (body: unknown) => void
  timer: TimerHandle | null
}

export async function startBotApiStandIn(options: { token?: string; clock?: Clock } = {}): Promise<StandIn> {
  const clock = options.clock ?? createSystemClock()
  const token = options.token ?? '7001:standin-token-AAAA'
  const bot = { id: Number(token.split(':')[0]), username: 'kira_test_bot' }
  const updates: Array<{ update_id: number } & Record<string, unknown>> = []
  let nextUpdateId = 1000
  let nextMessageId = 1
  let nextTopicId = 100
  let poll: Poll | null = null
  const sent: SentMessage[] = []
  const chatActions: StandIn['chatActions'] = []
  const stats = { getUpdates: 0, conflicts: 0, requests: 0 }
  const switches: StandIn['switches'] = { latencyMs: 0, fail5xx: 0, dropConnections: 0, unreachable: false, rateLimit: new Map(), webhookUrl: '' }
  const fastify = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 })

  const ok = (result: unknown) => ({ ok: true, result })
  const fail = (code: number, description: string, parameters?: Record<string, unknown>) => ({ ok: false, error_code: code, description, ...(parameters === undefined ? {} : { parameters }) })

  const answerPoll = (): void => {
    if (poll === null || updates.length === 0) return
    const p = poll
    poll = null
    p.timer?.cancel()
    p.finish(ok(updates.slice(0, 100)))
  }

  const getUpdates = (body: Record<string, unknown>, reply: FastifyReply): Promise<unknown> => {
    stats.getUpdates++
    const offset = typeof body.offset === 'number' ? body.offset : 0
    // An offset confirms every update before it: those are gone for good.
    while (updates.length > 0 && (updates[0] as { update_id: number }).update_id < offset) updates.shift()
    if (poll !== null) {
      // Telegram ends the EARLIER request with a conflict.
      stats.conflicts++
      const earlier = poll
      poll = null
      earlier.timer?.cancel()
      earlier.finish(fail(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'))
    }
    if (updates.length > 0) return Promise.resolve(ok(updates.slice(0, 100)))
    const timeoutS = typeof body.timeout === 'number' ? body.timeout : 0
    if (timeoutS <= 0) return Promise.resolve(ok([]))
    return new Promise((resolve) => {
      const p: Poll = { reply, finish: resolve, timer: null }
      p.timer = clock.setTimeout(() => {
        if (poll === p) poll = null
        resolve(ok([]))
      }, timeoutS * 1000)
      reply.raw.once('close', () => {
        if (poll === p) {
          poll = null
          p.timer?.cancel()
        }
      })
      poll = p
    })
  }

  const methods: Record<string, (body: Record<string, unknown>, reply: FastifyReply) => unknown> = {
    getMe: () => ok({ id: bot.id, is_bot: true, first_name: 'Kira', username: bot.username }),
    getWebhookInfo: () => ok({ url: switches.webhookUrl, has_custom_certificate: false, pending_update_count: updates.length }),
    deleteWebhook: () => {
      switches.webhookUrl = ''
      return ok(true)
    },
    getUpdates,
    sendMessage: (body) => {
      const chatId = String(body.chat_id)
      const limit = switches.rateLimit.get(chatId)
      if (limit !== undefined && limit.times > 0) {
        limit.times--
        return fail(429, `Too Many Requests: retry after ${limit.retryAfterS}`, { retry_after: limit.retryAfterS })
      }
      if (typeof body.text !== 'string' || body.text.length === 0) return fail(400, 'Bad Request: message text is empty')
      if (body.text.length > 4096) return fail(400, 'Bad Request: message is too long')
      const messageId = nextMessageId++
      const replyParameters = body.reply_parameters as { message_id?: number } | undefined
      sent.push({
        chatId,
        topicId: typeof body.message_thread_id === 'number' ? body.message_thread_id : null,
        text: body.text,
        parseMode: typeof body.parse_mode === 'string' ? body.parse_mode : null,
        replyTo: replyParameters?.message_id ?? null,
        messageId,
      })
      return ok({ message_id: messageId, date: Math.floor(clock.now() / 1000), chat: { id: Number(chatId), type: 'private' }, text: body.text })
    },
    sendChatAction: (body) => {
      chatActions.push({ chatId: String(body.chat_id), action: String(body.action) })
      return ok(true)
    },
    createForumTopic: (body) => ok({ message_thread_id: nextTopicId++, name: String(body.name), icon_color: 0 }),
    getFile: (body) => ok({ file_id: String(body.file_id), file_unique_id: `u${String(body.file_id)}`, file_size: 10, file_path: `files/${String(body.file_id)}` }),
  }

  fastify.route({
    method: ['GET', 'POST'],
    url: '/bot:token/:method',
    handler: async (request, reply) => {
      stats.requests++
      if (switches.unreachable || switches.dropConnections > 0) {
        if (switches.dropConnections > 0) switches.dropConnections--
        request.raw.socket.destroy()
        return reply.hijack()
      }
      if (switches.latencyMs > 0) await clock.sleep(switches.latencyMs)
      const params = request.params as { token: string; method: string }
      if (params.token !== token) return reply.code(401).send(fail(401, 'Unauthorized'))
      if (switches.fail5xx > 0) {
        switches.fail5xx--
        return reply.code(502).send(fail(502, 'Bad Gateway'))
      }
      const handler = methods[params.method]
      if (handler === undefined) return reply.code(404).send(fail(404, 'Not Found: method not found'))
      const body = { ...((request.query as Record<string, unknown>) ?? {}), ...((typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>) }
      const result = (await handler(body, reply)) as { ok: boolean; error_code?: number }
      return reply.code(result.ok ? 200 : (result.error_code ?? 400)).send(result)
    },
  })

  await fastify.listen({ host: '127.0.0.1', port: 0 })
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    poll?.timer?.cancel()
    poll?.finish(ok([]))
    poll = null
    await fastify.close()
  }
  onTestFinished(stop)

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    bot,
    pushMessage(m) {
      const id = nextUpdateId++
      const chat = m.chatType === 'supergroup' ? { id: m.chatId, type: 'supergroup', title: 'Team', is_forum: true } : { id: m.chatId, type: 'private', first_name: m.firstName ?? 'Ada' }
      const message: Record<string, unknown> = { message_id: nextMessageId++, from: { id: m.userId, is_bot: false, first_name: m.firstName ?? 'Ada' }, chat, date: Math.floor(clock.now() / 1000), text: m.text }
      if (m.topicId !== undefined) Object.assign(message, { message_thread_id: m.topicId, is_topic_message: true })
      updates.push({ update_id: id, message })
      answerPoll()
      return id
    },
    pushRaw(update) {
      updates.push(update as { update_id: number })
      answerPoll()
    },
    pending: () => updates.length,
    polling: () => poll !== null,
    sent,
    chatActions,
    stats,
    switches,
    stop,
  }
}
