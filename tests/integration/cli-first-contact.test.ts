/**
 * First contact, tried as a new user would (issue 10): every error in the one format, a bad
 * value on the command line as usage, and hints that are commands working as printed.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'

const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']

async function init(dir: string, extra: string[] = []): Promise<void> {
  const result = await runInstar(['init', '--home', dir, ...extra])
  expect(result.code, result.stderr).toBe(0)
}

async function start(dir: string): Promise<void> {
  cleanupNodeOnFinish(dir)
  const result = await runInstar(['node', 'start', '--detach', '--home', dir, ...LISTEN])
  expect(result.code, result.stderr).toBe(0)
}

/** The quoted `instar ...` commands of a hint, as words (the temp dirs hold no spaces). */
function hintedCommands(message: string): string[][] {
  return [...message.matchAll(/"instar ([^"]+)"/g)].map((m) => (m[1] ?? '').split(' '))
}

describe('the one error format', () => {
  it.each([
    [['memory', 'add', 'x', '--json'], /required option '--topic <topic>' not specified/],
    [['mesh', 'peers', '--colour', '--json'], /unknown option '--colour'/],
    [['mesh', 'frobnicate', '--json'], /unknown command 'frobnicate'/],
    [['memory', 'add', '', '--topic', 't', '--json'], /nothing to remember: the text is empty/],
    [['init', '--name', 'my laptop', '--json'], /--name "my laptop" may hold only letters/],
    [['init', '--priority', '2000', '--json'], /--priority must be between 0 and 1000/],
  ])('refuses %j as usage: exit 2, one line on stderr, {"error"} on stdout', async (args, message) => {
    const result = await runInstar([...args, '--home', join(tempDir(), 'home')])
    expect(result.code, result.stderr).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^instar: .*\[USAGE\]$/m)
    const error = lastJson<{ error: { code: string; message: string } }>(result.stdout).error
    expect(error.code).toBe('USAGE')
    expect(error.message).toMatch(message)
    expect(error.message).not.toMatch(/must NOT have/)
  })
})

describe('hints that work as printed', () => {
  it('names "instar init" when there is no data directory, for mesh commands and node start alike', async () => {
    const dir = join(tempDir(), 'nothing-here')
    for (const args of [['mesh', 'peers'], ['node', 'start']]) {
      const result = await runInstar([...args, '--home', dir])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/"instar init --home .*\[HOME_NOT_INITIALIZED\]/)
    }
  })

  it('tells a machine waiting to join how to join or found a mesh, and founding works as the hint says', { timeout: 120_000 }, async () => {
    const dir = join(tempDir(), 'waiting')
    await init(dir, ['--name', 'waiting'])
    await start(dir)
    const leader = await runInstar(['mesh', 'leader', '--home', dir])
    expect(leader.stdout).toMatch(/^not in a mesh yet/)
    expect(leader.stdout).not.toMatch(/election/)
    const pair = await runInstar(['mesh', 'pair', '--home', dir, '--json'])
    expect(pair.code).toBe(1)
    const error = lastJson<{ error: { code: string; message: string } }>(pair.stdout).error
    expect(error.code).toBe('MESH_NOT_MEMBER')
    const found = hintedCommands(error.message).filter((c) => c[0] !== 'mesh')
    expect(found.map((c) => c.slice(0, 2).join(' '))).toEqual(['node stop', 'init --force', 'node start'])
    for (const command of found) {
      const result = await runInstar(command.map((w) => (w === 'NAME' ? 'kira' : w)).concat(command[0] === 'node' && command[1] === 'start' ? LISTEN : []))
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(0)
    }
    const after = await runInstar(['mesh', 'leader', '--home', dir])
    expect(after.stdout).toMatch(/^leader {7}\S+ \(this machine\), peer id 12D3KooW/)
    const peers = await runInstar(['mesh', 'peers', '--home', dir])
    expect(peers.stdout).toMatch(/role {9}member/)
  })

  it('tells a member how to move to another mesh, and the steps it prints let it pair there', { timeout: 180_000 }, async () => {
    const a = join(tempDir(), 'alpha')
    const b = join(tempDir(), 'beta')
    await init(a, ['--agent', 'kira', '--name', 'alpha'])
    await init(b, ['--agent', 'otto', '--name', 'beta'])
    await Promise.all([start(a), start(b)])
    const invite = async () => lastJson<{ invitation: string }>((await runInstar(['mesh', 'pair', '--home', a, '--json'])).stdout).invitation
    const refused = await runInstar(['mesh', 'pair', await invite(), '--home', b, '--json'])
    expect(refused.code).toBe(1)
    const error = lastJson<{ error: { code: string; message: string } }>(refused.stdout).error
    expect(error.code).toBe('PAIRING_ALREADY_MEMBER')
    const steps = hintedCommands(error.message)
    expect(steps.map((c) => c.slice(0, 2).join(' '))).toEqual(['mesh leave', 'node stop', 'init --force', 'node start'])
    for (const command of steps) {
      const result = await runInstar(command.concat(command[0] === 'node' && command[1] === 'start' ? LISTEN : []))
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(0)
    }
    const joined = await runInstar(['mesh', 'pair', await invite(), '--home', b, '--json'])
    expect(joined.code, joined.stderr).toBe(0)
  })

  it('prints a witness invitation as "instar relay pair", and the witness pairs with the line its start printed', { timeout: 180_000 }, async () => {
    const a = join(tempDir(), 'alpha')
    await init(a, ['--agent', 'kira', '--name', 'alpha'])
    await start(a)
    const w = join(tempDir(), 'witness')
    cleanupNodeOnFinish(w)
    const started = await runInstar(['relay', 'start', '--witness', '--detach', '--home', w, '--name', 'wit', ...LISTEN])
    expect(started.code, started.stderr).toBe(0)
    const relayPair = hintedCommands(started.stderr.replace(/instar (relay pair [^\n]*)/, '"instar $1"')).find((c) => c[0] === 'relay')
    expect(relayPair).toEqual(['relay', 'pair', '<invitation>', '--home', w])
    const text = await runInstar(['mesh', 'pair', '--witness', '--home', a])
    const line = /^ {2}instar (relay pair instar1\.\S+)$/m.exec(text.stdout)
    expect(line, text.stdout).not.toBeNull()
    const words = (line?.[1] ?? '').split(' ')
    const joined = await runInstar([...words, ...(relayPair ?? []).slice(3)])
    expect(joined.code, joined.stderr).toBe(0)
    expect(joined.stdout).toMatch(/as its witness/)
  })
})
