/** `instar relay start --witness` end to end: two real node processes and a real witness process, paired through the CLI. */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

async function nodeHome(name: string, agent?: string): Promise<string> {
  const dir = join(tempDir(), name)
  const init = await runInstar(['init', '--home', dir, '--name', name, ...(agent === undefined ? [] : ['--agent', agent])])
  expect(init.code, init.stderr).toBe(0)
  cleanupNodeOnFinish(dir)
  const started = await runInstar(['node', 'start', '--home', dir, '--detach', '--listen', '/ip4/127.0.0.1/tcp/0'])
  expect(started.code, started.stderr).toBe(0)
  return dir
}

describe('instar relay', () => {
  it('refuses to start without --witness, the only relay role built so far', async () => {
    const result = await runInstar(['relay', 'start', '--home', join(tempDir(), 'relay')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/only the witness is built so far.*\[USAGE\]/)
    expect(existsSync(join(tempDir(), 'relay'))).toBe(false)
  })

  it('refuses to run a witness on a node\'s data directory', async () => {
    const dir = join(tempDir(), 'laptop')
    expect((await runInstar(['init', '--home', dir, '--agent', 'kira'])).code).toBe(0)
    const result = await runInstar(['relay', 'start', '--witness', '--home', dir, '--json'])
    expect(result.code).toBe(1)
    expect(lastJson<{ error: { code: string } }>(result.stdout).error.code).toBe('RELAY_HOME_IS_NODE')
  })

  it('runs a witness that pairs by a witness invitation and puts two machines in witness mode', { timeout: 180_000 }, async () => {
    const a = await nodeHome('alpha', 'kira')
    const b = await nodeHome('beta')
    const w = join(tempDir(), 'witness')
    cleanupNodeOnFinish(w)

    const started = await runInstar(['relay', 'start', '--witness', '--home', w, '--name', 'tiebreak', '--detach', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'])
    expect(started.code, started.stderr).toBe(0)
    expect(started.stderr).toMatch(/initialised the witness's data directory/)
    expect(statSync(join(w, 'keys', 'machine.key')).mode & 0o777).toBe(0o600)
    expect(existsSync(join(w, 'keys', 'agent.key'))).toBe(false)
    const status = lastJson<{ role: string; agent: null }>((await runInstar(['relay', 'status', '--home', w, '--json'])).stdout)
    expect(status).toMatchObject({ role: 'witness', agent: null })

    // Alone, the founder may invite a witness, and is told it will not vote yet.
    const early = await runInstar(['mesh', 'pair', '--witness', '--home', a])
    expect(early.code, early.stderr).toBe(0)
    expect(early.stderr).toMatch(/1 machine; a witness votes only while it has exactly two/)

    const member = lastJson<{ invitation: string }>((await runInstar(['mesh', 'pair', '--home', a, '--json'])).stdout)
    expect((await runInstar(['mesh', 'pair', member.invitation, '--home', b, '--json'])).code).toBe(0)

    // A machine invitation is refused by the witness, with a sentence saying what to do.
    const wrong = await runInstar(['mesh', 'pair', lastJson<{ invitation: string }>((await runInstar(['mesh', 'pair', '--home', a, '--json'])).stdout).invitation, '--home', w])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/mesh pair --witness.*\[PAIRING_ROLE_MISMATCH\]/)

    const made = await runInstar(['mesh', 'pair', '--witness', '--home', a, '--json'])
    expect(made.code, made.stderr).toBe(0)
    expect(made.stderr).not.toMatch(/votes only while/)
    const invitation = lastJson<{ invitation: string; sas: string; role: string }>(made.stdout)
    expect(invitation.role).toBe('witness')
    const joined = await runInstar(['mesh', 'pair', invitation.invitation, '--home', w, '--json'])
    expect(joined.code, joined.stderr).toBe(0)
    expect(lastJson<{ witness: boolean; sas: string }>(joined.stdout)).toMatchObject({ witness: true, sas: invitation.sas })

    for (const dir of [a, b, w]) {
      await waitFor(
        async () => {
          const leader = lastJson<{ leader: string | null; mode: string }>((await runInstar(['mesh', 'leader', '--home', dir, '--json'])).stdout)
          return leader.mode === 'witness' && leader.leader !== null
        },
        { timeoutMs: 40_000, what: `witness mode with a leader, as seen from ${dir}` },
      )
    }
    const peers = lastJson<{ peers: Array<{ name: string; role: string }> }>((await runInstar(['mesh', 'peers', '--home', b, '--json'])).stdout).peers
    expect(peers.find((p) => p.name === 'tiebreak')?.role).toBe('witness')
    const human = await runInstar(['mesh', 'status', '--home', w])
    expect(human.stdout).toMatch(/this machine is its witness/)
    expect(human.stdout).toMatch(/witness \(two machines and a witness/)

    // The witness holds no agent state: the state commands say so.
    const memory = await runInstar(['memory', 'search', 'anything', '--home', w, '--json'])
    expect(lastJson<{ error: { code: string; message: string } }>(memory.stdout).error).toMatchObject({ code: 'MESH_NOT_MEMBER' })

    const stopped = await runInstar(['relay', 'stop', '--home', w, '--json'])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(lastJson<{ stopped: boolean }>(stopped.stdout).stopped).toBe(true)
  })
})
