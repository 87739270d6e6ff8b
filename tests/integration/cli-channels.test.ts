/**
 * `instar channels` and `instar conversations` through the real binary and a real node (solo:
 * it leads), with the node's Telegram channel polling the Bot API stand-in of this test.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startBotApiStandIn } from '../support/bot-api-standin.js'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { editConfig } from '../support/homes.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const FAKE_CLAUDE = fileURLToPath(new URL('../support/fake-claude.mjs', import.meta.url))

async function runningNode(sessionsCommand?: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const home = join(tempDir(), 'home')
  const init = await runInstar(['init', '--home', home, '--agent', 'kira', '--name', 'laptop'])
  expect(init.code, init.stderr).toBe(0)
  cleanupNodeOnFinish(home)
  if (sessionsCommand !== undefined) editConfig(home, (c) => ({ ...c, sessions: { ...(c.sessions as object), command: sessionsCommand } }))
  const started = await runInstar(['node', 'start', '--home', home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'], { env })
  expect(started.code, started.stderr).toBe(0)
  return home
}

describe('instar channels', () => {
  it('adds telegram from a token file, polls, shows conversations and status, and sends', async () => {
    const standIn = await startBotApiStandIn()
    const home = await runningNode()
    const tokenFile = join(tempDir(), 'token')
    writeFileSync(tokenFile, `${standIn.token}\n`)

    const wrong = join(tempDir(), 'wrong')
    writeFileSync(wrong, '1:wrong')
    const refused = await runInstar(['channels', 'add', 'telegram', '--token-file', wrong, '--api-root', standIn.apiRoot, '--home', home, '--json'])
    expect(refused.code).toBe(1)
    expect(lastJson<{ error: { code: string } }>(refused.stdout).error.code).toBe('CHANNEL_TOKEN_INVALID')

    standIn.switches.webhookUrl = 'https://example.org/hook'
    const hooked = await runInstar(['channels', 'add', 'telegram', '--token-file', tokenFile, '--api-root', standIn.apiRoot, '--home', home, '--json'])
    expect(lastJson<{ error: { code: string } }>(hooked.stdout).error.code).toBe('CHANNEL_WEBHOOK_ACTIVE')

    const add = await runInstar(['channels', 'add', 'telegram', '--token-file', tokenFile, '--api-root', standIn.apiRoot, '--allow', '42', '--remove-webhook', '--home', home, '--json'])
    expect(add.code, add.stderr).toBe(0)
    expect(lastJson(add.stdout)).toMatchObject({ channel: 'telegram', apiRoot: standIn.apiRoot, allowed: ['42'], webhookRemoved: true, bot: { id: String(standIn.bot.id) } })
    expect(standIn.switches.webhookUrl).toBe('')

    standIn.pushMessage({ chatId: 42, userId: 42, text: 'hello from the phone' })
    const list = await waitFor(async () => {
      const r = await runInstar(['conversations', 'list', '--home', home, '--json'])
      const parsed = lastJson<{ conversations: Array<{ id: string; messages: number; personId: string | null }> }>(r.stdout)
      return parsed.conversations.length === 1 ? parsed : null
    }, { timeoutMs: 30_000, what: 'the conversation' })
    expect(list.conversations[0]).toMatchObject({ id: 'telegram:42', channel: 'telegram', messages: 1 })
    expect(list.conversations[0]?.personId).not.toBeNull()

    const show = await runInstar(['conversations', 'show', 'telegram:42', '--limit', '10', '--home', home, '--json'])
    expect(show.code, show.stderr).toBe(0)
    expect(lastJson<{ messages: Array<{ text: string; direction: string }> }>(show.stdout).messages).toMatchObject([{ text: 'hello from the phone', direction: 'in' }])

    const send = await runInstar(['channels', 'send', 'telegram:42', 'an **answer**', '--home', home, '--json'])
    expect(send.code, send.stderr).toBe(0)
    expect(lastJson<{ outboxId: string }>(send.stdout).outboxId).toMatch(/^cli:/)
    await waitFor(() => standIn.sent.some((m) => m.text === 'an <b>answer</b>'), { timeoutMs: 30_000, what: 'the answer sent' })

    const status = await waitFor(async () => {
      const r = await runInstar(['channels', 'status', '--home', home, '--json'])
      const parsed = lastJson<{ channels: Array<{ poller: string | null; outbox: { sent: number }; inbox: { received: number; handled: number } }> }>(r.stdout)
      return parsed.channels[0]?.outbox.sent === 1 && parsed.channels[0]?.inbox.handled === 1 ? parsed : null
    }, { timeoutMs: 30_000, what: 'status with the sent answer' })
    expect(status.channels[0]).toMatchObject({ channel: 'telegram', apiRoot: standIn.apiRoot, conflicts: 0, inbox: { received: 0, handled: 1, held: 0 }, outbox: { queued: 0, sending: 0, sent: 1, failed: 0 }, oldestUnhandledMs: null })
    expect(typeof status.channels[0]?.poller).toBe('string')

    const block = await runInstar(['channels', 'block', '42', '--home', home, '--json'])
    expect(lastJson<{ allowed: string[] }>(block.stdout).allowed).toEqual([])
    const bad = await runInstar(['channels', 'allow', 'not-a-user', '--home', home, '--json'])
    expect(bad.code).toBe(2)
    const remove = await runInstar(['channels', 'remove', 'telegram', '--home', home, '--json'])
    expect(lastJson(remove.stdout)).toEqual({ removed: 'telegram' })
    const none = await runInstar(['channels', 'list', '--home', home, '--json'])
    expect(lastJson(none.stdout)).toEqual({ channels: [] })
  }, 120_000)

  it('has the agent answer the phone through claude when claude is usable on the machine', async () => {
    const standIn = await startBotApiStandIn()
    const calls = tempDir('instar-claude-')
    const home = await runningNode(FAKE_CLAUDE, { FAKE_CLAUDE_DIR: calls })
    const tokenFile = join(tempDir(), 'token')
    writeFileSync(tokenFile, standIn.token)
    const add = await runInstar(['channels', 'add', 'telegram', '--token-file', tokenFile, '--api-root', standIn.apiRoot, '--allow', '42', '--home', home, '--json'])
    expect(add.code, add.stderr).toBe(0)
    const none = await runInstar(['agent', 'identity', 'show', '--home', home, '--json'])
    expect(lastJson(none.stdout)).toEqual({ identity: null })
    const identityFile = join(tempDir(), 'identity.md')
    writeFileSync(identityFile, 'You are Kira. You answer in one short sentence.')
    const set = await runInstar(['agent', 'identity', 'set', '--file', identityFile, '--home', home, '--json'])
    expect(set.code, set.stderr).toBe(0)
    const shown = await runInstar(['agent', 'identity', 'show', '--home', home])
    expect(shown.stdout.trim()).toBe('You are Kira. You answer in one short sentence.')
    const both = await runInstar(['agent', 'identity', 'set', '--home', home, '--json'])
    expect(both.code).toBe(2)
    expect(lastJson<{ error: { code: string } }>(both.stdout).error.code).toBe('USAGE')

    standIn.pushMessage({ chatId: 42, userId: 42, text: 'hello agent' })
    await waitFor(() => standIn.sent.some((m) => m.chatId === '42' && m.text === 'echo: hello agent (turn 1)'), { timeoutMs: 30_000, what: 'the agent answer' })
    const show = await waitFor(async () => {
      const r = await runInstar(['conversations', 'show', 'telegram:42', '--home', home, '--json'])
      const parsed = lastJson<{ messages: Array<{ text: string; direction: string }> }>(r.stdout)
      return parsed.messages.length === 2 ? parsed : null
    }, { timeoutMs: 30_000, what: 'the answer in the conversation' })
    expect(show.messages).toMatchObject([{ direction: 'in', text: 'hello agent' }, { direction: 'out', text: 'echo: hello agent (turn 1)' }])
    expect(standIn.sent.filter((m) => m.chatId === '42')).toHaveLength(1)

    // The session was given the instar MCP server of this data directory, and it serves.
    const argv = (JSON.parse(readFileSync(join(calls, 'calls.jsonl'), 'utf8').split('\n')[0] ?? '{}') as { argv: string[] }).argv
    expect(argv[argv.indexOf('--append-system-prompt') + 1]).toContain('You are Kira. You answer in one short sentence.')
    const mcpConfig = argv[argv.indexOf('--mcp-config') + 1] ?? ''
    expect(mcpConfig).toBe(join(home, 'sessions-mcp.json'))
    const server = (JSON.parse(readFileSync(mcpConfig, 'utf8')) as { mcpServers: { instar: { command: string; args: string[] } } }).mcpServers.instar
    expect(server.args.slice(-3)).toEqual(['mcp', '--home', home])
    const client = new Client({ name: 'instar-test', version: '0.0.0' })
    await client.connect(new StdioClientTransport({ command: server.command, args: server.args, stderr: 'pipe' }))
    onTestFinished(() => client.close())
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('memory_search')
  }, 120_000)
})
