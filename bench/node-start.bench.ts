/**
 * Cold start to API-ready, and idle RSS after 10 s, of a real `instar node start` process.
 * Runs compiled, from dist/bench. "API-ready" is the first moment /health answers at the URL
 * the node wrote to run/node.json; "state-ready" the first moment GET /memory answers too (the
 * API answers while the agent state loads, and a state route waits for the load). The machine's
 * 1-minute load average comes first. BENCH_START_PROFILE=DIR writes a CPU profile of the first
 * start there (node --cpu-prof; the process writes it as it stops).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSystemClock } from '../runtime/index.js'
import { cpuMs, rssMb } from './proc-stat.js'
import { percentile, report } from './report.js'

const clock = createSystemClock()
const BIN = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))
const RUNS = Number(process.env.BENCH_START_RUNS ?? 5)
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000)
const PROFILE_DIR = process.env.BENCH_START_PROFILE

async function health(api: string): Promise<boolean> {
  try {
    return (await fetch(`${api}/health`, { signal: clock.timeoutSignal(200) })).ok
  } catch {
    return false
  }
}

async function stateReady(api: string, token: string): Promise<boolean> {
  try {
    return (await fetch(`${api}/memory`, { headers: { authorization: `Bearer ${token}` }, signal: clock.timeoutSignal(5000) })).ok
  } catch {
    return false
  }
}

async function startOnce(home: string, profile: boolean): Promise<{ ms: number; stateMs: number; cpuMs: number; pid: number }> {
  const t0 = performance.now()
  const flags = profile && PROFILE_DIR !== undefined ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', 'node-start.cpuprofile'] : []
  const child = spawn(process.execPath, [...flags, BIN, 'node', 'start', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0'], {
    stdio: 'ignore',
  })
  const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
  for (;;) {
    try {
      const run = JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { api: string; pid: number }
      if (run.pid === child.pid && (await health(run.api))) {
        const ms = performance.now() - t0
        const cpu = cpuMs(run.pid)
        while (!(await stateReady(run.api, token))) await clock.sleep(2)
        return { ms, stateMs: performance.now() - t0, cpuMs: cpu, pid: run.pid }
      }
    } catch {
      // not written yet
    }
    if (performance.now() - t0 > 30_000) throw new Error('node did not start within 30 s')
    await clock.sleep(2)
  }
}

async function stop(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await clock.sleep(10)
  }
  process.kill(pid, 'SIGKILL')
}

const dir = mkdtempSync(join(tmpdir(), 'instar-bench-'))
try {
  const home = join(dir, 'home')
  const init = spawnSync(process.execPath, [BIN, 'init', '--home', home, '--agent', 'bench', '--name', 'bench'])
  if (init.status !== 0) throw new Error(`init failed: ${init.stderr.toString()}`)
  report('node-start', 'load_average_1m_at_start', loadavg()[0] ?? Number.NaN, 'load')
  const times: number[] = []
  const stateTimes: number[] = []
  const cpuTimes: number[] = []
  let last = { ms: 0, stateMs: 0, cpuMs: 0, pid: 0 }
  for (let i = 0; i < RUNS; i++) {
    last = await startOnce(home, i === 0)
    times.push(last.ms)
    stateTimes.push(last.stateMs)
    if (i > 0) cpuTimes.push(last.cpuMs) // the first start runs under the profiler when one is asked for
    if (i < RUNS - 1) await stop(last.pid)
  }
  report('node-start', 'start_to_api_ready_first', times[0] ?? Number.NaN, 'ms')
  report('node-start', 'start_to_api_ready_p50', percentile(times, 50), 'ms')
  report('node-start', 'start_to_api_ready_max', Math.max(...times), 'ms')
  report('node-start', 'start_to_state_ready_p50', percentile(stateTimes, 50), 'ms')
  report('node-start', 'start_cpu_to_api_ready_p50', percentile(cpuTimes, 50), 'ms')
  await clock.sleep(IDLE_MS)
  report('node-start', `idle_rss_after_${IDLE_MS / 1000}s`, rssMb(last.pid), 'MB')
  await stop(last.pid)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
