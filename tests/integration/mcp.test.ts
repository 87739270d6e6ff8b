/**
 * `instar mcp` as a session sees it: the MCP SDK's own client over stdio, spawning the real CLI
 * against a running node. Every tool, and bad inputs refused with a code.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startBotApiStandIn } from '../support/bot-api-standin.js'
import { BIN, cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

async function runningNode(): Promise<string> {
  const home = join(tempDir(), 'home')
  const init = await runInstar(['init', '--home', home, '--json', '--agent', 'kira', '--name', 'laptop'])
  expect(init.code, init.stderr).toBe(0)
  cleanupNodeOnFinish(home)
  const start = await runInstar(['node', 'start', '--home', home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'])
  expect(start.code, start.stderr).toBe(0)
  return home
}

async function connect(home: string): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--home', home], stderr: 'pipe' })
  const client = new Client({ name: 'instar-test', version: '0.0.0' })
  await client.connect(transport)
  onTestFinished(() => client.close())
  return client
}

interface ToolResult {
  isError?: boolean
  content: Array<{ type: string; text?: string }>
}
const body = (result: unknown): { error?: { code: string; message: string } } & Record<string, unknown> => JSON.parse((result as ToolResult).content[0]?.text ?? '{}') as never

describe('instar mcp', () => {
  it('lists its tools and serves memory and people through the node', async () => {
    const client = await connect(await runningNode())
    const tools = (await client.listTools()).tools.map((t) => t.name).sort()
    expect(tools).toEqual(['conversation_history', 'memory_add', 'memory_search', 'person_lookup', 'send_message'])

    const added = await client.callTool({ name: 'memory_add', arguments: { text: 'Lena prefers tea over coffee', topic: 'people', tags: ['lena'] } })
    expect(added.isError ?? false).toBe(false)
    expect(typeof body(added).id).toBe('string')

    const found = await client.callTool({ name: 'memory_search', arguments: { query: 'tea', limit: 5 } })
    expect(found.isError ?? false).toBe(false)
    expect(JSON.stringify(body(found).results)).toContain('Lena prefers tea')

    const nobody = await client.callTool({ name: 'person_lookup', arguments: { who: 'telegram:999' } })
    expect(nobody.isError).toBe(true)
    expect(body(nobody).error?.code).toMatch(/NOT_FOUND/)
  })

  it('reads a conversation and sends to it through whichever machine leads', async () => {
    const standIn = await startBotApiStandIn()
    const home = await runningNode()
    const tokenFile = join(tempDir(), 'token')
    writeFileSync(tokenFile, standIn.token)
    const add = await runInstar(['channels', 'add', 'telegram', '--token-file', tokenFile, '--api-root', standIn.apiRoot, '--allow', '42', '--home', home, '--json'])
    expect(add.code, add.stderr).toBe(0)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'are you there?' })
    const client = await connect(home)
    const history = await waitFor(async () => {
      const r = await client.callTool({ name: 'conversation_history', arguments: { conversation: 'telegram:42', limit: 10 } })
      return r.isError === true ? null : body(r)
    }, { timeoutMs: 30_000, what: 'the conversation' })
    expect(history.messages).toMatchObject([{ direction: 'in', text: 'are you there?' }])

    const sent = await client.callTool({ name: 'send_message', arguments: { conversation: 'telegram:42', text: 'a **reminder**' } })
    expect(sent.isError ?? false).toBe(false)
    expect(body(sent).outboxId).toMatch(/^cli:/)
    await waitFor(() => standIn.sent.some((m) => m.chatId === '42' && m.text === 'a <b>reminder</b>'), { timeoutMs: 30_000, what: 'the message sent' })

    const nowhere = await client.callTool({ name: 'send_message', arguments: { conversation: 'telegram:999', text: 'x' } })
    expect(nowhere.isError).toBe(true)
    expect(body(nowhere).error?.code).toBe('CHANNEL_CONVERSATION_NOT_FOUND')
    const bad = await client.callTool({ name: 'conversation_history', arguments: { conversation: '', limit: 0 } }).catch((err: unknown) => ({ isError: true, content: [{ type: 'text', text: String(err) }] }))
    expect(bad.isError).toBe(true)
  })

  it('refuses bad inputs before asking the node', async () => {
    const client = await connect(await runningNode())
    for (const args of [{ text: '', topic: 'x' }, { text: 'x' }, { text: 'x', topic: 'y', tags: 'not-a-list' }]) {
      const result = await client.callTool({ name: 'memory_add', arguments: args }).catch((err: unknown) => ({ isError: true, content: [{ type: 'text', text: String(err) }] }))
      expect(result.isError, JSON.stringify(args)).toBe(true)
    }
    const search = await client.callTool({ name: 'memory_search', arguments: { query: 'x', limit: 1000 } }).catch((err: unknown) => ({ isError: true, content: [{ type: 'text', text: String(err) }] }))
    expect(search.isError).toBe(true)
  })

  it('will not serve without a running node, and says so', async () => {
    const home = join(tempDir(), 'home')
    await runInstar(['init', '--home', home, '--json', '--agent', 'kira', '--name', 'laptop'])
    const result = await runInstar(['mcp', '--home', home, '--json'])
    expect(result.code).not.toBe(0)
    expect(lastJson<{ error: { code: string } }>(result.stdout).error.code).toBe('NODE_NOT_RUNNING')
  })
})
