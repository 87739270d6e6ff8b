/**
 * `instar memory` through the real binary and a real node: control characters stored in memory
 * are escaped in text output and exact in --json; the longest query the schema takes is served
 * by the CLI and by GET, and one character more is refused by the schema, not by the URL size.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'

/** Anything a terminal would act on: C0 but tab and newline, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/

async function runningNode(): Promise<{ home: string; api: string; headers: Record<string, string> }> {
  const home = join(tempDir(), 'home')
  const init = await runInstar(['init', '--home', home, '--agent', 'kira', '--name', 'laptop'])
  expect(init.code, init.stderr).toBe(0)
  cleanupNodeOnFinish(home)
  const started = await runInstar(['node', 'start', '--home', home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'])
  expect(started.code, started.stderr).toBe(0)
  const { api } = lastJson<{ api: string }>(started.stdout)
  const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
  return { home, api, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }
}

async function remember(node: { api: string; headers: Record<string, string> }, text: string, topic: string): Promise<string> {
  const response = await fetch(`${node.api}/memory`, { method: 'POST', headers: node.headers, body: JSON.stringify({ text, topic }) })
  expect(response.status).toBe(200)
  return ((await response.json()) as { id: string }).id
}

async function getSearch(node: { api: string; headers: Record<string, string> }, q: string): Promise<{ status: number; body: { results?: unknown[]; error?: { code: string } } }> {
  const response = await fetch(`${node.api}/memory/search?${new URLSearchParams({ q })}`, { headers: { authorization: node.headers.authorization ?? '' } })
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) }
}

describe('instar memory', () => {
  it('prints control characters in memory text escaped, and exact with --json', async () => {
    const node = await runningNode()
    const hostile = 'hostile \u001b[2J\u001b]0;pwned\u0007 nul\u0000 cr\r del\u007f csi\u009b2J rlo\u202etxt.exe lri\u2066x\u2069 end'
    await remember(node, hostile, 'evil')
    for (const args of [['memory', 'list', '--topic', 'evil'], ['memory', 'search', 'hostile']]) {
      const text = await runInstar([...args, '--home', node.home])
      expect(text.code, text.stderr).toBe(0)
      expect(text.stdout, args.join(' ')).not.toMatch(RAW_CONTROL)
      expect(text.stdout).toContain('\\x1b')
      const json = await runInstar([...args, '--home', node.home, '--json'])
      expect(json.code, json.stderr).toBe(0)
      expect(json.stdout).toContain(JSON.stringify(hostile).slice(1, 20))
    }
    const listed = lastJson<{ entries: Array<{ text: string }> }>((await runInstar(['memory', 'list', '--topic', 'evil', '--home', node.home, '--json'])).stdout)
    expect(listed.entries.map((e) => e.text)).toEqual([hostile])
    const shown = (await runInstar(['memory', 'list', '--topic', 'evil', '--home', node.home])).stdout
    expect(shown).toContain('hostile \\x1b[2J\\x1b]0;pwned\\x07 nul\\x00 cr\\x0d del\\x7f csi\\x9b2J rlo\\u202etxt.exe lri\\u2066x\\u2069 end')
  })

  it('serves the longest query the schema takes, through the CLI and through GET, and refuses one character more with a 400', async () => {
    const node = await runningNode()
    const id = await remember(node, 'a note about hostile peers', 'notes')
    // 20,000 code units of which one word to find (a dash is no word).
    const longest = `hostile ${'—'.repeat(20_000 - 8)}`
    expect(longest.length).toBe(20_000)
    const cli = await runInstar(['memory', 'search', longest, '--home', node.home, '--json'])
    expect(cli.code, cli.stderr).toBe(0)
    expect(lastJson<{ results: Array<{ id: string }> }>(cli.stdout).results.map((r) => r.id)).toEqual([id])

    // The widest URL: 3-byte characters, 9 bytes each once percent-encoded (180 KB).
    const widest = '中'.repeat(20_000)
    expect(await getSearch(node, widest)).toMatchObject({ status: 200, body: { results: [] } })
    expect(await getSearch(node, `${widest}中`)).toMatchObject({ status: 400, body: { error: { code: 'API_BAD_REQUEST' } } })
    // A pair of surrogates is two code units, for the schema as for the search.
    expect(await getSearch(node, '\u{20000}'.repeat(10_000))).toMatchObject({ status: 200 })
    expect(await getSearch(node, '\u{20000}'.repeat(10_001))).toMatchObject({ status: 400, body: { error: { code: 'API_BAD_REQUEST' } } })
    const tooLong = await runInstar(['memory', 'search', `${longest}x`, '--home', node.home, '--json'])
    expect(tooLong.code).not.toBe(0)
    expect(lastJson<{ error: { code: string } }>(tooLong.stdout).error.code).toBe('API_BAD_REQUEST')
  })
})
