/**
 * Data directories laid out before genesis pinning keep working. The only thing the current
 * code adds on disk is the `roster.genesis` row of state.db's node_meta, so a two-machine mesh
 * with that row deleted on both is exactly what the code before it left behind.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { stablePort } from '../support/ports.js'
import { apiGet, editConfig, initTestHome } from '../support/homes.js'
import { waitFor } from '../support/wait-for.js'

async function home(name: string, agent?: string): Promise<string> {
  const dir = await initTestHome({ name, ...(agent === undefined ? {} : { agent }) })
  // Loopback only, on a port no other process takes while the node restarts, so that the two
  // machines find each other where they last were.
  const port = await stablePort()
  editConfig(dir, (config) => ({ ...config, listen: [`/ip4/127.0.0.1/tcp/${port}`] }))
  return dir
}

async function start(dir: string): Promise<void> {
  cleanupNodeOnFinish(dir)
  const started = await runInstar(['node', 'start', '--home', dir, '--detach'])
  expect(started.code, started.stderr).toBe(0)
}

async function stop(dir: string): Promise<void> {
  const stopped = await runInstar(['node', 'stop', '--home', dir])
  expect(stopped.code, stopped.stderr).toBe(0)
}

async function bothConnected(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    await waitFor(
      async () => {
        const { peers } = await apiGet<{ peers: Array<{ connected: boolean }> }>(dir, '/mesh/peers')
        return peers.length === 2 && peers.every((p) => p.connected)
      },
      { timeoutMs: 40_000, what: `both machines connected as seen from ${dir}` },
    )
  }
}

/** The pin row of a stopped node's state.db, and optionally delete it. */
function pinOf(dir: string, remove = false): string | undefined {
  const db = new Database(join(dir, 'state.db'))
  try {
    const row = db.prepare("SELECT value FROM node_meta WHERE key = 'roster.genesis'").get() as { value: string } | undefined
    if (remove) db.prepare("DELETE FROM node_meta WHERE key = 'roster.genesis'").run()
    return row?.value
  } finally {
    db.close()
  }
}

async function memoryTexts(dir: string): Promise<string[]> {
  // The state routes answer once the documents are loaded: until then, nothing listed.
  const listed = await apiGet<{ entries?: Array<{ text: string }> }>(dir, '/memory?topic=upgrade').catch(() => ({ entries: [] }))
  return (listed.entries ?? []).map((e) => e.text).sort()
}

describe('a data directory made before genesis pinning', () => {
  it('starts, pins the genesis of its stored roster, and stays in its mesh with its data', { timeout: 240_000 }, async () => {
    const a = await home('alpha', 'kira')
    const b = await home('beta')
    await Promise.all([start(a), start(b)])
    const invitation = lastJson<{ invitation: string }>((await runInstar(['mesh', 'pair', '--home', a, '--json'])).stdout).invitation
    const joined = await runInstar(['mesh', 'pair', invitation, '--home', b, '--json'])
    expect(joined.code, joined.stderr).toBe(0)
    await bothConnected([a, b])
    expect((await runInstar(['memory', 'add', 'written before the upgrade', '--topic', 'upgrade', '--home', a])).code).toBe(0)
    await waitFor(async () => (await memoryTexts(b)).length === 1, { timeoutMs: 30_000, what: 'the memory on beta' })
    await Promise.all([stop(a), stop(b)])

    const pins = [pinOf(a, true), pinOf(b, true)]
    expect(pins[0]).toMatch(/^[0-9a-f]{64}$/)
    expect(pins[1]).toBe(pins[0])
    expect([pinOf(a), pinOf(b)]).toEqual([undefined, undefined])

    await Promise.all([start(a), start(b)])
    await bothConnected([a, b])
    for (const dir of [a, b]) {
      expect(await apiGet(dir, '/mesh/status')).toMatchObject({ member: true, removed: false, members: 2 })
    }
    expect((await runInstar(['memory', 'add', 'written after the upgrade', '--topic', 'upgrade', '--home', b])).code).toBe(0)
    await waitFor(async () => (await memoryTexts(a)).length === 2, { timeoutMs: 30_000, what: 'the new memory on alpha' })
    expect(await memoryTexts(a)).toEqual(['written after the upgrade', 'written before the upgrade'])
    await Promise.all([stop(a), stop(b)])
    expect([pinOf(a), pinOf(b)]).toEqual([pins[0], pins[0]])
  })
})
