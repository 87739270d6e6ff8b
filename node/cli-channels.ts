/**
 * `instar channels add|list|status|remove|allow|block|send` and `instar conversations
 * list|show`, through the node's API. A bot token is read from stdin or --token-file, never
 * from the command line (where ps and shell history would show it).
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
// errors.ts, not the folder's index: the client bundle must not load grammy, zod or Yjs (tests/node/cli-bundle.test.ts).
import { ChannelTokenMissingError } from '../channels/errors.js'
import { connectApi } from './api-client.js'
import { addCommonOptions, parseIntOption, type CommonOptions } from './cli-common.js'
import { createOutput, formatDuration, inline } from './cli-output.js'
import { UsageError } from './errors.js'
import { homePaths, resolveHome } from './paths.js'

const api = (flags: CommonOptions) => connectApi(homePaths(resolveHome(flags.home, process.env)), { timeoutMs: 30_000 })

interface StatusJson {
  channel: string
  poller: string | null
  term: number | null
  lastPollAt: number | null
  lastError: { code: string; message: string } | null
  conflicts: number
  apiRoot: string
  inbox: { received: number; handled: number; held: number }
  outbox: { queued: number; sending: number; sent: number; failed: number }
  oldestUnhandledMs: number | null
}

interface ConversationJson {
  id: string
  channel: string
  title: string
  personId: string | null
  lastMessageAt: number
  messages: number
}

async function readToken(file: string | undefined): Promise<string> {
  let raw: string
  if (file !== undefined) raw = readFileSync(file, 'utf8')
  else {
    if (process.stdin.isTTY === true) throw new ChannelTokenMissingError('telegram')
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    raw = Buffer.concat(chunks).toString('utf8')
  }
  const token = raw.trim()
  if (token === '') throw new ChannelTokenMissingError('telegram')
  return token
}

const parseUsers = (value: string): string[] => {
  const ids = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const id of ids) if (!/^[1-9][0-9]{0,19}$/.test(id)) throw new UsageError(`--allow takes Telegram user ids (digits), not "${id}"`)
  return ids
}

export function registerChannels(program: Command): void {
  const channels = program.command('channels').description('the channels the agent talks through (Telegram), run by whichever machine leads')

  addCommonOptions(
    channels
      .command('add <channel>')
      .description('add a channel: the bot token on stdin or in --token-file (never as an argument), checked with the platform')
      .option('--token-file <file>', 'read the bot token from this file')
      .option('--api-root <url>', 'Bot API base URL (default Telegram\'s own)')
      .option('--allow <ids>', 'comma-separated Telegram user ids allowed to talk to the agent; the first is the owner')
      .option('--remove-webhook', 'remove a webhook still set on the bot (it stops polling)'),
  ).action(async (channel: string, flags: CommonOptions & { tokenFile?: string; apiRoot?: string; allow?: string; removeWebhook?: boolean }) => {
    if (channel !== 'telegram') throw new UsageError(`unknown channel "${channel}"; known: telegram`)
    const token = await readToken(flags.tokenFile)
    const body = { token, ...(flags.apiRoot === undefined ? {} : { apiRoot: flags.apiRoot }), ...(flags.allow === undefined ? {} : { allow: parseUsers(flags.allow) }), ...(flags.removeWebhook === true ? { removeWebhook: true } : {}) }
    const result = await api(flags).post<{ channel: string; bot: { id: string; username: string | null }; apiRoot: string; allowed: string[]; webhookRemoved: boolean }>('/channels/telegram', body)
    createOutput(flags.json === true).result(result, () =>
      [`telegram: bot @${inline(result.bot.username ?? result.bot.id)} added (${inline(result.apiRoot)})`, `allowed: ${result.allowed.join(', ') || '(nobody yet: instar channels allow <user-id>)'}`, ...(result.webhookRemoved ? ['the webhook was removed'] : [])].join('\n'),
    )
  })

  addCommonOptions(channels.command('list').description('the channels set up')).action(async (flags: CommonOptions) => {
    const result = await api(flags).get<{ channels: Array<{ channel: string; apiRoot: string; bot: { id: string | null; username: string | null }; allowed: string[] }> }>('/channels')
    createOutput(flags.json === true).result(result, () =>
      result.channels.length === 0 ? 'no channels (add one with "instar channels add telegram")' : result.channels.map((c) => `${c.channel}  @${inline(c.bot.username ?? '?')}  ${inline(c.apiRoot)}  allowed: ${c.allowed.join(', ') || '-'}`).join('\n'),
    )
  })

  addCommonOptions(channels.command('status').description('per channel: which machine polls, term, last poll, conflicts, inbox and outbox')).action(async (flags: CommonOptions) => {
    const result = await api(flags).get<{ channels: StatusJson[] }>('/channels/status')
    createOutput(flags.json === true).result(result, () =>
      result.channels.length === 0
        ? 'no channels'
        : result.channels
            .map((c) =>
              [
                `${c.channel}  polled by ${inline(c.poller ?? 'nobody')} (term ${c.term ?? '-'})  ${inline(c.apiRoot)}`,
                `  last poll   ${c.lastPollAt === null ? 'never' : new Date(c.lastPollAt).toISOString()}   conflicts ${c.conflicts}${c.lastError === null ? '' : `   last error ${inline(c.lastError.code)}`}`,
                `  inbox       received ${c.inbox.received}  handled ${c.inbox.handled}  held ${c.inbox.held}${c.oldestUnhandledMs === null ? '' : `  oldest unhandled ${formatDuration(c.oldestUnhandledMs)}`}`,
                `  outbox      queued ${c.outbox.queued}  sending ${c.outbox.sending}  sent ${c.outbox.sent}  failed ${c.outbox.failed}`,
              ].join('\n'),
            )
            .join('\n'),
    )
  })

  addCommonOptions(channels.command('remove <channel>').description('remove a channel and its token (its conversations stay)')).action(async (channel: string, flags: CommonOptions) => {
    const result = await api(flags).post<{ removed: string }>('/channels/remove', { channel })
    createOutput(flags.json === true).result(result, () => `removed ${inline(result.removed)}`)
  })

  for (const [name, what] of [['allow', 'let this Telegram user talk to the agent'], ['block', 'stop this Telegram user from talking to the agent']] as const) {
    addCommonOptions(channels.command(`${name} <user-id>`).description(what)).action(async (user: string, flags: CommonOptions) => {
      if (!/^[1-9][0-9]{0,19}$/.test(user)) throw new UsageError(`a Telegram user id is digits, not "${user}"`)
      const result = await api(flags).post<{ channel: string; allowed: string[] }>(`/channels/${name}`, { channel: 'telegram', userId: user })
      createOutput(flags.json === true).result(result, () => `allowed: ${result.allowed.join(', ') || '(nobody)'}`)
    })
  }

  addCommonOptions(channels.command('send <conversation-id> <text>').description('queue a message in a conversation; whichever machine leads sends it').option('--text', 'send as plain text, not Markdown')).action(
    async (conversationId: string, text: string, flags: CommonOptions & { text?: boolean }) => {
      const result = await api(flags).post<{ outboxId: string }>('/channels/send', { conversationId, text, format: flags.text === true ? 'text' : 'markdown' })
      createOutput(flags.json === true).result(result, () => `queued (${result.outboxId})`)
    },
  )

  const conversations = program.command('conversations').description('conversations with people, shared by every machine of the mesh')

  addCommonOptions(conversations.command('list').description('newest first').option('--limit <n>', 'at most this many (1-10000, default 100)')).action(async (flags: CommonOptions & { limit?: string }) => {
    const limit = flags.limit === undefined ? 100 : parseIntOption('--limit', flags.limit, 1, 10_000)
    const result = await api(flags).get<{ conversations: ConversationJson[] }>(`/conversations?${new URLSearchParams({ limit: String(limit) })}`)
    createOutput(flags.json === true).result(result, () =>
      result.conversations.length === 0 ? 'no conversations yet' : result.conversations.map((c) => `${inline(c.id).padEnd(28)} ${inline(c.title).padEnd(24)} ${c.messages} messages, last ${new Date(c.lastMessageAt).toISOString()}`).join('\n'),
    )
  })

  addCommonOptions(conversations.command('show <id>').description('the last messages of one conversation').option('--limit <n>', 'at most this many (1-10000, default 50)')).action(
    async (id: string, flags: CommonOptions & { limit?: string }) => {
      const limit = flags.limit === undefined ? 50 : parseIntOption('--limit', flags.limit, 1, 10_000)
      const result = await api(flags).get<{ conversation: ConversationJson; messages: Array<{ direction: string; text: string; at: number }> }>(`/conversations/show?${new URLSearchParams({ id, limit: String(limit) })}`)
      createOutput(flags.json === true).result(result, () =>
        [`${inline(result.conversation.title)}  (${inline(result.conversation.id)})`, ...result.messages.map((m) => `${new Date(m.at).toISOString()} ${m.direction === 'in' ? '<' : '>'} ${inline(m.text)}`)].join('\n'),
      )
    },
  )
}
