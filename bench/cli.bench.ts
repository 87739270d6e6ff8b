/**
 * How long a CLI command takes, wall time from spawn to exit, against `node -e 0` on the same
 * machine in the same run: `instar --version`, and `mesh leader --json` and `memory add` against
 * a real running node (started detached on a temp data directory). The commands run in turns,
 * one round after another, so that a change of load hits each the same; the figures are the
 * p50 (and p90) of each and the ratio of each p50 to that of `node -e 0` (issue 10: at most 1.5).
 * BENCH_CLI_RUNS sets the rounds (default 40). The machine's 1-minute load average comes first.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSystemClock } from '../runtime/index.js'
import { percentile, report } from './report.js'

const clock = createSystemClock()
const BIN = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 40)

function run(args: string[]): number {
  const t0 = performance.now()
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const ms = performance.now() - t0
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`)
  return ms
}

function pidOf(home: string): number | null {
  try {
    return (JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { pid: number }).pid
  } catch {
    return null
  }
}

async function killNode(home: string): Promise<void> {
  const pid = pidOf(home)
  if (pid === null) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await clock.sleep(10)
  }
  process.kill(pid, 'SIGKILL')
}

const dir = mkdtempSync(join(tmpdir(), 'instar-bench-cli-'))
const home = join(dir, 'home')
try {
  report('cli', 'load_average_1m_at_start', loadavg()[0] ?? Number.NaN, 'load')
  run([BIN, 'init', '--home', home, '--agent', 'bench', '--name', 'bench'])
  run([BIN, 'node', 'start', '--detach', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0'])
  const commands: Array<{ metric: string; args: string[] }> = [
    { metric: 'node_e0', args: ['-e', '0'] },
    { metric: 'version', args: [BIN, '--version'] },
    { metric: 'mesh_leader_json', args: [BIN, 'mesh', 'leader', '--json', '--home', home] },
    { metric: 'memory_add', args: [BIN, 'memory', 'add', 'a line of a file, remembered', '--topic', 'bench', '--home', home] },
  ]
  // One round first, unmeasured: the files are then in the page cache for every command alike.
  for (const c of commands) run(c.args)
  const times = new Map<string, number[]>(commands.map((c) => [c.metric, []]))
  for (let i = 0; i < RUNS; i++) {
    // Each round starts with another command, so that none always runs right after a given one.
    for (let j = 0; j < commands.length; j++) {
      const c = commands[(i + j) % commands.length] as (typeof commands)[number]
      times.get(c.metric)?.push(run(c.args))
    }
  }
  const base = percentile(times.get('node_e0') ?? [], 50)
  for (const c of commands) {
    const values = times.get(c.metric) ?? []
    report('cli', `${c.metric}_p50`, percentile(values, 50), 'ms')
    report('cli', `${c.metric}_p90`, percentile(values, 90), 'ms')
    if (c.metric !== 'node_e0') report('cli', `${c.metric}_p50_ratio_to_node_e0`, percentile(values, 50) / base, 'x')
  }
  report('cli', 'load_average_1m_at_end', loadavg()[0] ?? Number.NaN, 'load')
} finally {
  await killNode(home)
  rmSync(dir, { recursive: true, force: true })
}
