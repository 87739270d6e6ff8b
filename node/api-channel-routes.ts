/**
 * Routes of the channels and conversations: add (token checked with getMe, a webhook reported
 * and removed only with consent), list, status, remove, allow, block, send; conversations list
 * and show. The token travels only in a POST body and is kept in the sealed `secrets` document.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import {
  ChannelConversationNotFoundError,
  ChannelNotConfiguredError,
  ChannelTokenMissingError,
  ChannelUnknownError,
  ChannelWebhookActiveError,
  createTelegramApi,
  TELEGRAM_API_ROOT,
  TELEGRAM_TOKEN_SECRET,
  type TelegramApi,
} from '../channels/index.js'
import type { AgentState, Conversation, Message } from '../crdt/index.js'

export interface ChannelRoutesDeps {
  state(): Promise<AgentState>
  selfPeerId(): string
  now(): number
  /** Builds the Bot API client (grammy's by default). */
  telegramApi?: (token: string, apiRoot: string) => TelegramApi
}

const userId = { type: 'string', pattern: '^[1-9][0-9]{0,19}$' }
const channelName = { type: 'string', enum: ['telegram'] }

const conversationJson = (c: Conversation) => ({ id: c.id, channel: c.channel, ref: c.ref, title: c.title, personId: c.personId, lastMessageAt: c.lastMessageAt, messages: c.messages })
const messageJson = (m: Message) => ({ id: m.id, platformId: m.platformId, direction: m.direction, text: m.text, at: m.at, personId: m.personId, attachments: m.attachments })

export function registerChannelRoutes(fastify: FastifyInstance, deps: ChannelRoutesDeps): void {
  const makeApi = deps.telegramApi ?? createTelegramApi

  fastify.post(
    '/channels/telegram',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: {
            token: { type: 'string', maxLength: 256 },
            apiRoot: { type: 'string', pattern: '^https?://[^\\s]{1,500}$' },
            allow: { type: 'array', maxItems: 100, items: userId },
            removeWebhook: { type: 'boolean' },
          },
        },
      },
    },
    async (request) => {
      const body = request.body as { token: string; apiRoot?: string; allow?: string[]; removeWebhook?: boolean }
      const token = body.token.trim()
      if (token === '') throw new ChannelTokenMissingError('telegram')
      const apiRoot = (body.apiRoot ?? TELEGRAM_API_ROOT).replace(/\/+$/, '')
      const api = makeApi(token, apiRoot)
      const bot = await api.getMe()
      const webhook = await api.webhookUrl()
      let webhookRemoved = false
      if (webhook !== '') {
        if (body.removeWebhook !== true) throw new ChannelWebhookActiveError(webhook)
        await api.deleteWebhook()
        webhookRemoved = true
      }
      const state = await deps.state()
      const now = deps.now()
      const allow = body.allow ?? []
      const previous = state.channels.settings('telegram')
      state.secrets.set(TELEGRAM_TOKEN_SECRET, token, now)
      state.channels.configure({ channel: 'telegram', apiRoot, owner: allow[0] ?? previous?.owner ?? null, botId: bot.id, botUsername: bot.username, addedAt: now })
      for (const user of allow) state.channels.setAllowed('telegram', user, true, now)
      await state.documents.committed()
      return { channel: 'telegram', bot, apiRoot, allowed: state.channels.allowed('telegram'), webhookRemoved }
    },
  )

  fastify.get('/channels', async () => {
    const state = await deps.state()
    return { channels: state.channels.list().map((s) => ({ channel: s.channel, apiRoot: s.apiRoot, bot: { id: s.botId, username: s.botUsername }, owner: s.owner, allowed: state.channels.allowed(s.channel), addedAt: s.addedAt })) }
  })

  fastify.get('/channels/status', async () => {
    const state = await deps.state()
    const now = deps.now()
    return {
      channels: state.channels.list().map((s) => {
        const health = state.channels.health(s.channel)
        const counts = state.conversations.counts(s.channel as 'telegram')
        return {
          channel: s.channel,
          poller: health?.poller ?? null,
          term: health?.term ?? null,
          lastPollAt: health?.lastPollAt ?? null,
          lastError: health?.lastError ?? null,
          conflicts: health?.conflicts ?? 0,
          apiRoot: s.apiRoot,
          offset: state.channels.offset(s.channel),
          inbox: counts.inbox,
          outbox: counts.outbox,
          oldestUnhandledMs: counts.oldestUnhandledAt === null ? null : Math.max(0, now - counts.oldestUnhandledAt),
        }
      }),
    }
  })

  fastify.post(
    '/channels/remove',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['channel'], properties: { channel: { type: 'string', maxLength: 32 } } } } },
    async (request) => {
      const { channel } = request.body as { channel: string }
      if (channel !== 'telegram') throw new ChannelUnknownError(channel)
      const state = await deps.state()
      if (!state.channels.remove(channel)) throw new ChannelNotConfiguredError(channel)
      if (state.secrets.has(TELEGRAM_TOKEN_SECRET)) state.secrets.remove(TELEGRAM_TOKEN_SECRET)
      await state.documents.committed()
      return { removed: channel }
    },
  )

  for (const [path, allowed] of [['/channels/allow', true], ['/channels/block', false]] as const) {
    fastify.post(
      path,
      { schema: { body: { type: 'object', additionalProperties: false, required: ['userId'], properties: { channel: channelName, userId } } } },
      async (request) => {
        const body = request.body as { channel?: string; userId: string }
        const channel = body.channel ?? 'telegram'
        const state = await deps.state()
        if (state.channels.settings(channel) === undefined) throw new ChannelNotConfiguredError(channel)
        state.channels.setAllowed(channel, body.userId, allowed, deps.now())
        await state.documents.committed()
        return { channel, allowed: state.channels.allowed(channel) }
      },
    )
  }

  fastify.post(
    '/channels/send',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['conversationId', 'text'],
          properties: { conversationId: { type: 'string', minLength: 1, maxLength: 256 }, text: { type: 'string', minLength: 1, maxLength: 65_536 }, format: { type: 'string', enum: ['markdown', 'text'] } },
        },
      },
    },
    async (request) => {
      const body = request.body as { conversationId: string; text: string; format?: 'markdown' | 'text' }
      const state = await deps.state()
      if (state.conversations.getConversation(body.conversationId) === undefined) throw new ChannelConversationNotFoundError(body.conversationId)
      const outboxId = `cli:${randomBytes(12).toString('hex')}`
      state.conversations.enqueue({ id: outboxId, conversationId: body.conversationId, text: body.text, format: body.format ?? 'markdown', by: deps.selfPeerId() }, deps.now())
      await state.documents.committed()
      return { outboxId }
    },
  )

  fastify.get(
    '/conversations',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'string', pattern: '^[0-9]{1,5}$' }, channel: channelName } } } },
    async (request) => {
      const q = request.query as { limit?: string; channel?: 'telegram' }
      const limit = Math.min(10_000, Math.max(1, q.limit === undefined ? 100 : Number(q.limit)))
      const state = await deps.state()
      return { conversations: state.conversations.listConversations({ limit, ...(q.channel === undefined ? {} : { channel: q.channel }) }).map(conversationJson) }
    },
  )

  fastify.get(
    '/conversations/show',
    { schema: { querystring: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 }, limit: { type: 'string', pattern: '^[0-9]{1,5}$' } } } } },
    async (request) => {
      const q = request.query as { id: string; limit?: string }
      const limit = Math.min(10_000, Math.max(1, q.limit === undefined ? 50 : Number(q.limit)))
      const state = await deps.state()
      const conversation = state.conversations.getConversation(q.id)
      if (conversation === undefined) throw new ChannelConversationNotFoundError(q.id)
      return { conversation: conversationJson(conversation), messages: state.conversations.messages(q.id, { limit }).map(messageJson) }
    },
  )
}
