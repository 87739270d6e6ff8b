/**
 * The Claude Code runner against a stand-in CLI (tests/support/fake-claude.mjs) run as a real
 * child process: argv, stream parsing, resume, warm sessions, the slot limit, timeouts and
 * cancellation by process group on a manual clock, and each failure class.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createManualClock, silentLogger } from '../../runtime/index.js'
import { CLAUDE_FLAGS, createClaudeRunner, type AgentRunner, type ClaudeRunnerOptions } from '../../sessions/index.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const FAKE = fileURLToPath(new URL('../support/fake-claude.mjs', import.meta.url))
const runners: AgentRunner[] = []
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()))
})

interface Call {
  pid: number
  argv?: string[]
  stdin?: string
}

function setup(options: Partial<ClaudeRunnerOptions> = {}) {
  const dir = tempDir('instar-sessions-')
  const clock = createManualClock(1_000_000)
  let n = 0
  const runner = createClaudeRunner(
    { clock, logger: silentLogger },
    { command: FAKE, logDir: join(dir, 'logs', 'sessions'), env: { ...process.env, FAKE_CLAUDE_DIR: dir }, warmTtlMs: 0, newSessionId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, ...options },
  )
  runners.push(runner)
  const calls = (): Call[] => (existsSync(join(dir, 'calls.jsonl')) ? readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call) : [])
  const starts = (): Call[] => calls().filter((c) => c.argv !== undefined)
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  return { dir, clock, runner, calls, starts, alive }
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (err: { code?: string }) => err.code)

describe('the Claude Code runner', () => {
  it('runs a turn in a new session and returns its text, session id, cost and usage', async () => {
    const { runner, starts, dir } = setup()
    const result = await runner.run({ key: 'c1', prompt: 'hello' })
    expect(result).toMatchObject({ sessionId: '00000000-0000-4000-8000-000000000001', text: 'echo: hello (turn 1)', costUsd: 0.0012, numTurns: 1, warm: false, usage: { inputTokens: 12, outputTokens: 7 } })
    expect(starts()[0]?.argv).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--session-id', '00000000-0000-4000-8000-000000000001'])
    const events = join(dir, 'logs', 'sessions', `${result.sessionId}.events.jsonl`)
    await waitFor(() => readFileSync(events, 'utf8').includes('"type":"result"'), { timeoutMs: 10_000, what: 'the event log' })
    expect(statSync(events).mode & 0o777).toBe(0o600)
    expect(existsSync(join(dir, 'logs', 'sessions', `${result.sessionId}.stderr.log`))).toBe(true)
  })

  it('never puts the prompt in argv, even one that reads as a flag', async () => {
    const { runner, starts, calls } = setup()
    await runner.run({ key: 'c1', prompt: '--dangerously-skip-permissions' })
    expect(starts()[0]?.argv).not.toContain('--dangerously-skip-permissions')
    expect(calls().find((c) => c.stdin !== undefined)?.stdin).toBe('--dangerously-skip-permissions')
  })

  it('resumes a session by its id', async () => {
    const { runner, starts } = setup()
    const first = await runner.run({ key: 'c1', prompt: 'one' })
    const second = await runner.run({ key: 'c1', prompt: 'two', resume: first.sessionId })
    expect(second).toMatchObject({ sessionId: first.sessionId, text: 'echo: two (turn 2)', warm: false })
    expect(starts()[1]?.argv).toContain('--resume')
  })

  it('passes the context and settings to a new process', async () => {
    const { runner, starts } = setup({ settings: { model: 'sonnet', permissionMode: 'acceptEdits', mcpConfigPath: '/x/mcp.json' } })
    await runner.run({ key: 'c1', prompt: 'hi', systemPrompt: 'You are kira.' })
    expect(starts()[0]?.argv).toEqual(expect.arrayContaining(['--append-system-prompt', 'You are kira.', '--mcp-config', '/x/mcp.json', '--model', 'sonnet', '--permission-mode', 'acceptEdits']))
  })

  it('sends a later message of the same key to the warm process on its stdin', async () => {
    const { runner, starts, calls } = setup({ warmTtlMs: 60_000 })
    const first = await runner.run({ key: 'c1', prompt: 'one' })
    const second = await runner.run({ key: 'c1', prompt: 'two' })
    expect(second).toMatchObject({ sessionId: first.sessionId, text: 'echo: two (turn 2)', warm: true })
    expect(starts()).toHaveLength(1)
    expect(calls().filter((c) => c.stdin !== undefined).map((c) => c.pid)).toEqual([starts()[0]?.pid, starts()[0]?.pid])
    expect(runner.status()).toMatchObject({ running: 0, warm: 1 })
  })

  it('ends a warm process after its time to live, and spawns anew for the next message', async () => {
    const { runner, clock, starts, alive } = setup({ warmTtlMs: 60_000 })
    await runner.run({ key: 'c1', prompt: 'one' })
    const pid = starts()[0]?.pid as number
    clock.advance(60_000)
    await waitFor(() => runner.status().warm === 0 && !alive(pid), { timeoutMs: 20_000, what: 'the warm process to end' })
    const next = await runner.run({ key: 'c1', prompt: 'two' })
    expect(next.warm).toBe(false)
    expect(starts()).toHaveLength(2)
  })

  it('runs at most maxConcurrent processes and starts the waiting turns in order', async () => {
    const { runner, starts, calls } = setup({ maxConcurrent: 1 })
    const first = runner.run({ key: 'a', prompt: 'first #slow 300' })
    const second = runner.run({ key: 'b', prompt: 'second' })
    const third = runner.run({ key: 'c', prompt: 'third' })
    await waitFor(() => calls().some((c) => c.stdin === 'first #slow 300'), { timeoutMs: 20_000, what: 'the first turn to start' })
    expect(runner.status()).toMatchObject({ running: 1, queued: 2 })
    await Promise.all([first, second, third])
    expect(calls().filter((c) => c.stdin !== undefined).map((c) => c.stdin)).toEqual(['first #slow 300', 'second', 'third'])
    expect(starts()).toHaveLength(3)
  })

  it('ends an idle warm process to make room for a waiting turn', async () => {
    const { runner, starts } = setup({ maxConcurrent: 1, warmTtlMs: 600_000 })
    await runner.run({ key: 'a', prompt: 'one' })
    const other = await runner.run({ key: 'b', prompt: 'two' })
    expect(other.warm).toBe(false)
    expect(starts()).toHaveLength(2)
  })

  it('stops a turn past its timeout with SESSION_TIMEOUT', async () => {
    const { runner, clock, calls, alive } = setup()
    const turn = runner.run({ key: 'c1', prompt: '#hang', timeoutMs: 30_000 })
    await waitFor(() => calls().some((c) => c.stdin === '#hang'), { timeoutMs: 20_000, what: 'the turn to start' })
    clock.advance(30_000)
    expect(await codeOf(turn)).toBe('SESSION_TIMEOUT')
    const pid = calls()[0]?.pid as number
    await waitFor(() => !alive(pid), { timeoutMs: 20_000, what: 'the process to end' })
  })

  it('terminates the whole process group when stopped, the tools a session started included', async () => {
    const { runner, starts, alive } = setup({ warmTtlMs: 600_000 })
    const result = await runner.run({ key: 'c1', prompt: '#child' })
    const child = Number(/child (\d+)/.exec(result.text)?.[1])
    expect(alive(child)).toBe(true)
    await runner.stop()
    await waitFor(() => !alive(child) && !alive(starts()[0]?.pid as number), { timeoutMs: 20_000, what: 'the group to end' })
  })

  it('cancels a running turn when its signal aborts', async () => {
    const { runner, calls } = setup()
    const abort = new AbortController()
    const turn = runner.run({ key: 'c1', prompt: '#hang' }, { signal: abort.signal })
    await waitFor(() => calls().some((c) => c.stdin === '#hang'), { timeoutMs: 20_000, what: 'the turn to start' })
    abort.abort()
    expect(await codeOf(turn)).toBe('SESSION_CANCELLED')
    await waitFor(() => runner.status().running === 0 && runner.status().warm === 0, { timeoutMs: 20_000, what: 'the process to end' })
    expect(runner.cancel('c1')).toBe(false)
  })

  it('names each failure: crash, unreadable output, usage limit with its reset, no login', async () => {
    const { runner } = setup()
    const crash = await runner.run({ key: 'a', prompt: '#crash' }).catch((e: unknown) => e)
    expect(crash).toMatchObject({ code: 'SESSION_CRASHED', exitCode: 3 })
    expect(await codeOf(runner.run({ key: 'b', prompt: '#garbage' }))).toBe('SESSION_CRASHED')
    expect(await runner.run({ key: 'c', prompt: '#limit' }).catch((e: unknown) => e)).toMatchObject({ code: 'SESSION_USAGE_LIMIT', resetAt: Date.UTC(2030, 0, 1) })
    expect(await codeOf(runner.run({ key: 'd', prompt: '#login' }))).toBe('SESSION_NOT_LOGGED_IN')
    // A failed turn leaves no process behind.
    await waitFor(() => runner.status().running === 0 && runner.status().warm === 0, { timeoutMs: 20_000, what: 'every process to end' })
  })

  it('refuses to resume a session the CLI does not know', async () => {
    const { runner } = setup()
    expect(await codeOf(runner.run({ key: 'a', prompt: 'x', resume: 'no-such-session' }))).toBe('SESSION_CRASHED')
  })

  it('says a missing command is not installed, as a turn error and in version()', async () => {
    const { runner } = setup({ command: '/nonexistent/claude' })
    expect(await codeOf(runner.run({ key: 'a', prompt: 'x' }))).toBe('SESSION_NOT_INSTALLED')
    expect(await runner.version()).toMatchObject({ installed: false })
  })

  it('reads the installed version', async () => {
    const { runner } = setup()
    expect(await runner.version()).toEqual({ installed: true, version: '2.1.328' })
  })

  it('refuses waiting and later turns once stopped', async () => {
    const { runner, calls } = setup({ maxConcurrent: 1 })
    const running = runner.run({ key: 'a', prompt: '#hang' })
    const waiting = runner.run({ key: 'b', prompt: 'x' })
    await waitFor(() => calls().some((c) => c.stdin === '#hang') && runner.status().queued === 1, { timeoutMs: 20_000, what: 'one turn running, one waiting' })
    await runner.stop()
    expect(await codeOf(running)).toBe('SESSION_CANCELLED')
    expect(await codeOf(waiting)).toBe('SESSION_RUNNER_STOPPED')
    expect(await codeOf(runner.run({ key: 'c', prompt: 'x' }))).toBe('SESSION_RUNNER_STOPPED')
  })

  it('uses only flags that `claude --help` lists (the real CLI when INSTAR_CLAUDE_BIN names one)', () => {
    const help = execFileSync(process.env.INSTAR_CLAUDE_BIN ?? FAKE, ['--help'], { encoding: 'utf8' })
    for (const flag of CLAUDE_FLAGS) expect(help, flag).toMatch(new RegExp(`(^|[\\s,])${flag}([\\s,=]|$)`, 'm'))
  })
})
