/**
 * A node killed with SIGKILL in the middle of a burst of writes loses nothing it
 * acknowledged: every id the API answered is there after a restart, those of writes that
 * shared a group commit included.
 */
import Database from 'better-sqlite3'
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

  it('keeps every acknowledged write of a group commit across a SIGKILL', async () => {
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
    const post = async (text: string): Promise<string | null> => {
      try {
        const response = await fetch(`${first.api}/memory`, { method: 'POST', headers, body: JSON.stringify({ text, topic: 'group' }) })
        return response.ok ? ((await response.json()) as { id: string }).id : null
      } catch {
        return null
      }
    }
    // What the node has committed, read by another connection while it runs.
    const largestGroup = (): number => {
      const db = new Database(join(home, 'state.db'), { readonly: true, fileMustExist: true })
      try {
        return (db.prepare("SELECT COALESCE(MAX(updates), 0) AS n FROM doc_updates WHERE doc = 'memory'").get() as { n: number }).n
      } finally {
        db.close()
      }
    }
    // Rounds of 16 requests at once, until the node has answered some that shared one commit.
    for (let round = 0; largestGroup() < 2; round++) {
      expect(round, 'no two of 16 concurrent writes ever shared a commit').toBeLessThan(200)
      const ids = await Promise.all(Array.from({ length: 16 }, (_, i) => post(`round ${round} n${i}`)))
      for (const id of ids) if (id !== null) acknowledged.push(id)
    }
    // One more round, killed as soon as its first write is acknowledged.
    let killed = false
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const id = await post(`last round n${i}`)
        if (id === null) return
        acknowledged.push(id)
        if (!killed) {
          killed = true
          process.kill(first.pid, 'SIGKILL')
        }
      }),
    )
    expect(killed).toBe(true)
    await waitFor(() => !processAlive(first.pid), { timeoutMs: 10_000, what: 'the killed node to exit' })

    const second = await start()
    const response = await fetch(`${second.api}/memory?topic=group`, { headers: { authorization: `Bearer ${token}` } })
    const ids = new Set(((await response.json()) as { entries: Array<{ id: string }> }).entries.map((e) => e.id))
    expect(acknowledged.filter((id) => !ids.has(id))).toEqual([])
  })
})
