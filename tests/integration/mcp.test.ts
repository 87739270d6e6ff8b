/**
 * `instar mcp` as a session sees it: the MCP SDK's own client over stdio, spawning the real CLI
 * against a running node. Every tool, and bad inputs refused with a code.
 */
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { describe, expect, it, onTestFinished } from 'vitest'
import { BIN, cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'

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
    expect(tools).toEqual(['memory_add', 'memory_search', 'person_lookup'])

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
