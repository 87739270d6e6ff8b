/** `instar mesh` end to end: two real node processes paired through the CLI. */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

async function home(name: string, agent?: string): Promise<string> {
  const dir = join(tempDir(), name)
  const init = await runInstar(['init', '--home', dir, '--name', name, ...(agent === undefined ? [] : ['--agent', agent])])
  expect(init.code, init.stderr).toBe(0)
  return dir
}

async function start(dir: string): Promise<void> {
  cleanupNodeOnFinish(dir)
  const started = await runInstar(['node', 'start', '--home', dir, '--detach', '--listen', '/ip4/127.0.0.1/tcp/0'])
  expect(started.code, started.stderr).toBe(0)
}

interface Peer {
  name: string
  connected: boolean
  self: boolean
  fingerprint: string
}

describe('instar mesh', () => {
  it('pairs two machines, lists them on both, refuses a replay, and removes one', { timeout: 180_000 }, async () => {
    const a = await home('alpha', 'kira')
    const b = await home('beta')
    const c = await home('gamma')
    await Promise.all([start(a), start(b), start(c)])

    const made = await runInstar(['mesh', 'pair', '--home', a, '--ttl', '10m', '--json'])
    expect(made.code, made.stderr).toBe(0)
    const invitation = lastJson<{ invitation: string; expiresAt: string; sas: string }>(made.stdout)
    expect(invitation.invitation).toMatch(/^instar1\./)
    expect(invitation.sas).toMatch(/^\d{3} \d{3}$/)

    // Chat apps wrap long lines: the joiner takes the invitation with line breaks in it.
    const wrapped = invitation.invitation.replace(/(.{60})/g, '$1\n')
    const joined = await runInstar(['mesh', 'pair', wrapped, '--home', b, '--json'])
    expect(joined.code, joined.stderr).toBe(0)
    const result = lastJson<{ mesh: string; inviter: string; sas: string; members: Array<{ name: string }> }>(joined.stdout)
    expect(result.sas).toBe(invitation.sas)
    expect(result.members.map((m) => m.name).sort()).toEqual(['alpha', 'beta'])

    for (const dir of [a, b]) {
      await waitFor(
        async () => {
          const peers = await runInstar(['mesh', 'peers', '--home', dir, '--json'])
          const list = lastJson<{ peers: Peer[] }>(peers.stdout).peers
          return list.length === 2 && list.every((p) => p.connected)
        },
        { timeoutMs: 40_000, what: `both peers connected as seen from ${dir}` },
      )
    }
    const status = await runInstar(['mesh', 'status', '--home', b, '--json'])
    expect(lastJson<{ agent: { name: string }; members: number }>(status.stdout)).toMatchObject({ agent: { name: 'kira' }, members: 2 })

    const replay = await runInstar(['mesh', 'pair', invitation.invitation, '--home', c])
    expect(replay.code).toBe(1)
    expect(replay.stderr).toMatch(/already used.*\[PAIRING_INVITATION_USED\]/)

    const removed = await runInstar(['mesh', 'remove', 'beta', '--home', a, '--json'])
    expect(removed.code, removed.stderr).toBe(0)
    await waitFor(
      async () => {
        const peers = lastJson<{ peers: Peer[] }>((await runInstar(['mesh', 'peers', '--home', a, '--json'])).stdout).peers
        return peers.length === 1
      },
      { timeoutMs: 30_000, what: 'beta gone from alpha' },
    )
    await waitFor(
      async () => lastJson<{ removed: boolean }>((await runInstar(['mesh', 'status', '--home', b, '--json'])).stdout).removed,
      { timeoutMs: 30_000, what: 'beta to learn of its removal' },
    )
  })

  it('says so when the joining machine has no node running', async () => {
    const b = await home('beta')
    const result = await runInstar(['mesh', 'pair', 'instar1.AAAA', '--home', b])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/no node is running .*\[NODE_NOT_RUNNING\]/)
  })

  it('refuses a malformed invitation with a clear line', async () => {
    const b = await home('beta')
    await start(b)
    const result = await runInstar(['mesh', 'pair', 'hello-this-is-not-an-invitation', '--home', b])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/not a valid invitation.*\[PAIRING_INVITATION_MALFORMED\]/)
  })

  it('refuses a bad --ttl as usage', async () => {
    const a = await home('alpha', 'kira')
    const result = await runInstar(['mesh', 'pair', '--home', a, '--ttl', 'forever'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--ttl must look like/)
  })
})
