/**
 * A node killed with SIGKILL in the middle of a burst of writes loses nothing it
 * acknowledged: every id the API answered is there after a restart.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'
import { processAlive } from '../../node/run-state.js'

describe('crash safety', () => {
  it('keeps every acknowledged write across a SIGKILL during a burst', async () => {
    const home = join(tempDir(), 'home')
    expect((await runInstar(['init', '--home', home, '--agent', 'kira', '--name', 'solo'])).code).toBe(0)
    cleanupNodeOnFinish(home)
    const start = async () => {
      const r = await runInstar(['node', 'start', '--home', home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'])
      expect(r.code, r.stderr).toBe(0)
      return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { pid: number; api: string }
    }
    const first = await start()
    const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const acknowledged: string[] = []
    let killed = false
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !killed; i++) {
        try {
          const response = await fetch(`${first.api}/memory`, { method: 'POST', headers, body: JSON.stringify({ text: `w${w} n${i}`, topic: 'burst' }) })
          if (response.ok) acknowledged.push(((await response.json()) as { id: string }).id)
        } catch {
          return
        }
      }
    })
    await waitFor(() => acknowledged.length >= 200, { timeoutMs: 30_000, what: '200 acknowledged writes' })
    process.kill(first.pid, 'SIGKILL')
    killed = true
    await Promise.all(writers)
    await waitFor(() => !processAlive(first.pid), { timeoutMs: 10_000, what: 'the killed node to exit' })

    const second = await start()
    const response = await fetch(`${second.api}/memory?topic=burst`, { headers: { authorization: `Bearer ${token}` } })
    const ids = new Set(((await response.json()) as { entries: Array<{ id: string }> }).entries.map((e) => e.id))
    const lost = acknowledged.filter((id) => !ids.has(id))
    expect(lost).toEqual([])
    expect(ids.size).toBeGreaterThanOrEqual(acknowledged.length)
  })
})
