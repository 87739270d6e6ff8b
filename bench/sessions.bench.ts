/**
 * The session runner's own cost, measured with the stand-in CLI (tests/support/fake-claude.mjs):
 * a turn through createClaudeRunner, cold (a new process per turn) and warm (the next message on
 * a live process's stdin), against the same stand-in driven directly with child_process in the
 * same run (spawn, write the message, read to the result line). The difference is the runner's
 * overhead; goals: < 200 ms cold, < 50 ms warm (issue 13). BENCH_SESSIONS_TURNS sets the count.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSystemClock, silentLogger } from '../runtime/index.js'
import { createClaudeRunner, encodeUserMessage } from '../sessions/index.js'
import { percentile, report } from './report.js'

const FAKE = fileURLToPath(new URL('../../tests/support/fake-claude.mjs', import.meta.url))
const TURNS = Number(process.env.BENCH_SESSIONS_TURNS ?? 30)
const NAME = 'sessions'
const clock = createSystemClock()
const dir = mkdtempSync(join(tmpdir(), 'instar-bench-sessions-'))
const env = { ...process.env, FAKE_CLAUDE_DIR: dir }
const ARGV = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json']

/** The stand-in alone: one process, `messages` turns on it; the time of each turn (the first includes the spawn). */
async function direct(messages: number, sessionId: string): Promise<number[]> {
  const child = spawn(FAKE, [...ARGV, '--session-id', sessionId], { env, stdio: ['pipe', 'pipe', 'ignore'] })
  const times: number[] = []
  let buffer = ''
  let waiting: (() => void) | undefined
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8')
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (line.includes('"type":"result"')) waiting?.()
    }
  })
  let start = performance.now()
  for (let i = 0; i < messages; i++) {
    if (i > 0) start = performance.now()
    const done = new Promise<void>((resolve) => (waiting = resolve))
    child.stdin.write(encodeUserMessage(`turn ${i}`))
    if (i === messages - 1) child.stdin.end()
    await done
    times.push(performance.now() - start)
  }
  await new Promise((resolve) => child.once('close', resolve))
  return times
}

async function main(): Promise<void> {
  let n = 0
  const newSessionId = (): string => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`
  const runner = createClaudeRunner({ clock, logger: silentLogger }, { command: FAKE, logDir: join(dir, 'logs'), env, maxConcurrent: 2, warmTtlMs: 60_000, newSessionId })
  try {
    const coldDirect: number[] = []
    const cold: number[] = []
    for (let i = 0; i < TURNS; i++) {
      coldDirect.push(...(await direct(1, `ffffffff-0000-4000-8000-${String(i).padStart(12, '0')}`)))
      const t = performance.now()
      await runner.run({ key: `cold-${i}`, prompt: `turn ${i}`, keepWarm: false })
      cold.push(performance.now() - t)
    }
    const warmDirect = (await direct(TURNS + 1, 'eeeeeeee-0000-4000-8000-000000000000')).slice(1)
    await runner.run({ key: 'warm', prompt: 'first' })
    const warm: number[] = []
    for (let i = 0; i < TURNS; i++) {
      const t = performance.now()
      const result = await runner.run({ key: 'warm', prompt: `turn ${i}` })
      if (!result.warm) throw new Error('a warm turn spawned a process')
      warm.push(performance.now() - t)
    }
    for (const [label, ours, base] of [['cold', cold, coldDirect], ['warm', warm, warmDirect]] as const) {
      report(NAME, `${label}_turn_p50`, percentile(ours, 50), 'ms')
      report(NAME, `${label}_turn_p99`, percentile(ours, 99), 'ms')
      report(NAME, `${label}_standin_p50`, percentile(base, 50), 'ms')
      report(NAME, `${label}_standin_p99`, percentile(base, 99), 'ms')
      report(NAME, `${label}_overhead_p50`, percentile(ours, 50) - percentile(base, 50), 'ms')
    }
    report(NAME, 'cold_over_warm_p50', percentile(cold, 50) / percentile(warm, 50), 'ratio')
  } finally {
    await runner.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
