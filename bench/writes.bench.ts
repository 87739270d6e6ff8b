/**
 * Writes over the HTTP API of a real `instar node start` process, under each durability side
 * by side: POST /memory sequentially (each acknowledged, so committed, before the next is
 * sent), its latency p50/p99/max and writes per second; then 16 writers at once, whose writes
 * share group commits. The machine's 1-minute load average is reported first, and the floor
 * under each durability: a bare better-sqlite3 commit of one small row in this process, on the
 * same disk (under power-loss, most of it the fsync of the WAL), so a write's latency can be
 * read against what the disk itself takes. BENCH_WRITES_PROFILE=DIR also writes a CPU profile of
 * each node process there (node --cpu-prof), for a look at where a write's time goes.
 */
import Database from 'better-sqlite3'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSystemClock } from '../runtime/index.js'
import { cpuMs } from './proc-stat.js'
import { percentile, report } from './report.js'

const clock = createSystemClock()
const BIN = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))
const SEQUENTIAL = Number(process.env.BENCH_WRITES ?? 2000)
const WARMUP = Number(process.env.BENCH_WRITES_WARMUP ?? 300)
const CONCURRENT = Number(process.env.BENCH_WRITES_CONCURRENT ?? 16)
const PROFILE_DIR = process.env.BENCH_WRITES_PROFILE

interface Running {
  child: ChildProcess
  api: string
  token: string
}

async function start(home: string, profileName: string | null): Promise<Running> {
  const flags = PROFILE_DIR === undefined || profileName === null ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${profileName}.cpuprofile`]
  const child = spawn(process.execPath, [...flags, BIN, 'node', 'start', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
  const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
  const deadline = clock.now() + 30_000
  for (;;) {
    try {
      const run = JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { api: string; pid: number }
      if (run.pid === child.pid) {
        // Answers once the agent state is loaded: what a write needs.
        const r = await fetch(`${run.api}/memory`, { headers: { authorization: `Bearer ${token}` }, signal: clock.timeoutSignal(5000) })
        if (r.ok) return { child, api: run.api, token }
      }
    } catch {
      // not up yet
    }
    if (clock.now() > deadline) throw new Error('node did not start within 30 s')
    await clock.sleep(10)
  }
}

async function stop(node: Running): Promise<void> {
  const exited = new Promise<void>((resolve) => node.child.once('exit', () => resolve()))
  node.child.kill('SIGTERM')
  await Promise.race([exited, clock.sleep(10_000).then(() => void node.child.kill('SIGKILL'))])
  await exited
}

async function post(node: Running, text: string): Promise<number> {
  const t0 = performance.now()
  const r = await fetch(`${node.api}/memory`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text, topic: 'bench/writes', tags: ['bench'] }),
  })
  if (!r.ok) throw new Error(`POST /memory answered ${r.status}: ${await r.text()}`)
  await r.arrayBuffer()
  return performance.now() - t0
}

/** Latencies of `count` commits of one small row with SQLite's `synchronous` as the durability sets it. */
function bareCommits(path: string, durability: 'power-loss' | 'process-crash', count: number): number[] {
  const db = new Database(path)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${durability === 'power-loss' ? 'FULL' : 'NORMAL'}`)
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)')
    const insert = db.prepare('INSERT INTO t (b) VALUES (?)')
    const commit = db.transaction(() => insert.run(Buffer.alloc(200)))
    const out: number[] = []
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      commit()
      out.push(performance.now() - t0)
    }
    return out
  } finally {
    db.close()
  }
}

const dir = mkdtempSync(join(tmpdir(), 'instar-bench-writes-'))
try {
  report('writes', 'load_average_1m_at_start', loadavg()[0] ?? Number.NaN, 'load')
  for (const durability of ['power-loss', 'process-crash'] as const) {
    const bare = bareCommits(join(dir, `bare-${durability}.db`), durability, SEQUENTIAL)
    report('writes', `bare_sqlite_commit_p50_${durability}`, percentile(bare, 50), 'ms')
    report('writes', `bare_sqlite_commit_p99_${durability}`, percentile(bare, 99), 'ms')
  }
  for (const durability of ['power-loss', 'process-crash'] as const) {
    const home = join(dir, durability)
    const init = spawnSync(process.execPath, [BIN, 'init', '--home', home, '--agent', 'bench', '--name', 'bench'])
    if (init.status !== 0) throw new Error(`init failed: ${init.stderr.toString()}`)
    const configPath = join(home, 'config.json')
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>
    writeFileSync(configPath, `${JSON.stringify({ ...config, storage: { durability } }, null, 2)}\n`)

    const node = await start(home, `writes-${durability}`)
    for (let i = 0; i < WARMUP; i++) await post(node, `warm-up ${i}`)
    const latencies: number[] = []
    const pid = node.child.pid as number
    const cpu0 = cpuMs(pid)
    const t0 = performance.now()
    for (let i = 0; i < SEQUENTIAL; i++) latencies.push(await post(node, `sequential write ${i} about the garden and the river`))
    const seconds = (performance.now() - t0) / 1000
    report('writes', `sequential_node_cpu_per_write_${durability}`, ((cpuMs(pid) - cpu0) * 1000) / SEQUENTIAL, 'µs')
    report('writes', `sequential_per_second_${durability}`, SEQUENTIAL / seconds, 'writes/s')
    report('writes', `sequential_p50_${durability}`, percentile(latencies, 50), 'ms')
    report('writes', `sequential_p99_${durability}`, percentile(latencies, 99), 'ms')
    report('writes', `sequential_max_${durability}`, Math.max(...latencies), 'ms')

    let sent = 0
    const t1 = performance.now()
    const concurrentLatencies: number[] = []
    await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, w) => {
        while (sent < SEQUENTIAL) {
          sent++
          concurrentLatencies.push(await post(node, `writer ${w} write ${sent}`))
        }
      }),
    )
    report('writes', `concurrent_${CONCURRENT}_per_second_${durability}`, SEQUENTIAL / ((performance.now() - t1) / 1000), 'writes/s')
    report('writes', `concurrent_${CONCURRENT}_p99_${durability}`, percentile(concurrentLatencies, 99), 'ms')
    await stop(node)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
