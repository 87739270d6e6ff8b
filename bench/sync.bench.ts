/**
 * Shared state on real loopback nodes and real SQLite files (in-process):
 * propagation latency of one memory write to two peers, catch-up of an offline node,
 * sustained updates per second between two nodes under each durability (side by side; one
 * write's latency is bench/writes.bench.ts's, on a node of its own: here three nodes share one
 * process and each write waits for the others' commits), search
 * latency and load time over 100,000 entries, the longest event-loop stall while loading and
 * while a first search waits for the index, and database size per 10,000 entries.
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createAgentState, createSqliteDocumentStorage, openStateDb, type AgentState, type Durability, type StateDb } from '../crdt/index.js'
import { type Mesh } from '../mesh/index.js'
import { silentLogger } from '../runtime/index.js'
import { benchNode, clock, startBenchMesh as startMesh, until, type BenchNode } from './bench-node.js'
import { percentile, report } from './report.js'

const dir = mkdtempSync(join(tmpdir(), 'instar-bench-sync-'))
const WRITES = Number(process.env.BENCH_SYNC_WRITES ?? 1000)
const CATCHUP = Number(process.env.BENCH_SYNC_CATCHUP ?? 10_000)
const SUSTAINED = Number(process.env.BENCH_SYNC_SUSTAINED ?? 20_000)
const SEARCH_ENTRIES = Number(process.env.BENCH_SEARCH_ENTRIES ?? 100_000)
const LARGE_MIB = Number(process.env.BENCH_SYNC_LARGE_MIB ?? 50)

type Node = BenchNode & { db: StateDb | null; state: AgentState | null; dbPath: string }

async function startState(n: Node, durability: Durability = 'power-loss'): Promise<void> {
  n.db = openStateDb(n.dbPath, 0, { durability })
  n.state = createAgentState({ mesh: n.mesh, storage: createSqliteDocumentStorage(n.db), clock, logger: silentLogger })
  await n.state.start()
}

function stopState(n: Node): void {
  n.state?.stop()
  n.db?.close()
  n.state = null
  n.db = null
}

async function node(name: string, founder: boolean): Promise<Node> {
  const n: Node = { ...benchNode(name, founder), db: null, state: null, dbPath: join(dir, `${name}.db`) }
  await startMesh(n)
  return n
}

/** The longest event-loop stall while `f` runs, in ms (timer lateness, at 1 ms resolution). */
async function longestStall<T>(f: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  try {
    const value = await f()
    await clock.sleep(5) // a stall at the very end shows up only once the next timer fires
    return { value, stallMs: h.max / 1e6 }
  } finally {
    h.disable()
  }
}

const connected = (a: Mesh, b: Mesh): boolean => a.peers().some((p) => p.peerId === b.peerId && p.connected)
const must = <T>(v: T | null): T => {
  if (v === null) throw new Error('missing')
  return v
}

try {
  report('sync', 'load_average_1m_at_start', loadavg()[0] ?? Number.NaN, 'load')
  const a = await node('a', true)
  const b = await node('b', false)
  const c = await node('c', false)
  await b.mesh.join(a.mesh.invite(900_000).token)
  await c.mesh.join(a.mesh.invite(900_000).token)
  await until(() => connected(a.mesh, b.mesh) && connected(a.mesh, c.mesh) && connected(b.mesh, c.mesh))
  for (const n of [a, b, c]) await startState(n)
  const sa = must(a.state)
  const sb = must(b.state)
  const sc = must(c.state)

  // Propagation: one write on a, until both b and c have applied it.
  const latencies: number[] = []
  for (let i = 0; i < WRITES; i++) {
    const t0 = performance.now()
    const id = sa.memory.add({ text: `propagation ${i}`, topic: 'bench', author: a.mesh.peerId }, i)
    await new Promise<void>((resolve) => {
      const check = (): boolean => sb.memory.get(id) !== undefined && sc.memory.get(id) !== undefined
      if (check()) return resolve()
      const offs = [sb, sc].map((s) => s.documents.onUpdate(() => {
        if (check()) {
          for (const off of offs) off()
          resolve()
        }
      }))
    })
    latencies.push(performance.now() - t0)
  }
  report('sync', 'propagation_to_two_peers_p50', percentile(latencies, 50), 'ms')
  report('sync', 'propagation_to_two_peers_p99', percentile(latencies, 99), 'ms')

  // Sustained: a burst of single-entry writes on a, until b has them all, under each durability.
  for (const durability of ['power-loss', 'process-crash'] as const) {
    for (const n of [a, b]) {
      stopState(n)
      await startState(n, durability)
    }
    const wa = must(a.state)
    const wb = must(b.state)
    const before = wb.memory.size()
    const cpu1 = process.cpuUsage()
    const t1 = performance.now()
    for (let i = 0; i < SUSTAINED; i++) wa.memory.add({ text: `sustained ${i}`, topic: 'burst', author: a.mesh.peerId }, i)
    await until(() => wb.memory.size() >= before + SUSTAINED)
    report('sync', `sustained_updates_per_second_${durability}`, SUSTAINED / ((performance.now() - t1) / 1000), 'updates/s')
    // CPU time of this process (writer, receiver and the third node, all here) per update: a
    // figure a loaded machine bends less than the rate.
    const used = process.cpuUsage(cpu1)
    report('sync', `sustained_cpu_per_update_${durability}`, (used.user + used.system) / SUSTAINED, 'µs')
    // The same, written as a client of the API would: 100 writes a turn, each turn acknowledged.
    const before2 = wb.memory.size()
    const t2 = performance.now()
    for (let i = 0; i < SUSTAINED; i += 100) {
      for (let k = i; k < i + 100; k++) wa.memory.add({ text: `acknowledged ${k}`, topic: 'burst', author: a.mesh.peerId }, k)
      await wa.documents.committed()
    }
    await until(() => wb.memory.size() >= before2 + SUSTAINED)
    report('sync', `sustained_acknowledged_updates_per_second_${durability}`, SUSTAINED / ((performance.now() - t2) / 1000), 'updates/s')
  }

  // Catch-up: c goes offline, a writes, c comes back.
  stopState(c)
  await c.mesh.stop()
  const sa2 = must(a.state)
  const target = sa2.memory.size() + CATCHUP
  for (let i = 0; i < CATCHUP; i++) sa2.memory.add({ text: `catch-up entry ${i}`, topic: 'offline', author: a.mesh.peerId }, i)
  const t2 = performance.now()
  await startMesh(c)
  await startState(c)
  await until(() => (c.state?.memory.size() ?? 0) >= target)
  report('sync', `catch_up_${CATCHUP}_entries`, performance.now() - t2, 'ms')

  // Large catch-up: c is away while a's memory grows by LARGE_MIB of 20,000-character
  // entries; its step 2 goes out in 1 MiB chunks under the flow window.
  stopState(c)
  await c.mesh.stop()
  const big = 'lorem ipsum dolor sit amet '.repeat(740)
  const entries = Math.ceil((LARGE_MIB * 1024 * 1024) / big.length)
  const largeTarget = sa2.memory.size() + entries
  for (let i = 0; i < entries; i++) sa2.memory.add({ text: `${i} ${big}`, topic: 'large', author: a.mesh.peerId }, i)
  const t7 = performance.now()
  await startMesh(c)
  await startState(c)
  await until(() => (c.state?.memory.size() ?? 0) >= largeTarget, 600_000)
  report('sync', `catch_up_${LARGE_MIB}_mib_document`, performance.now() - t7, 'ms')

  for (const n of [a, b, c]) {
    stopState(n)
    await n.mesh.stop()
  }

  // Size, search and load over a large store (one machine, no network needed).
  const solo = await node('solo', true)
  await startState(solo)
  const s = must(solo.state)
  const words = ['garden', 'tea', 'coffee', 'meeting', 'friday', 'ada', 'project', 'invoice', 'travel', 'music', 'river', 'lamp']
  let sizeAt10k = 0
  for (let i = 0; i < SEARCH_ENTRIES; i++) {
    const text = `note ${i} about ${words[i % words.length]} and ${words[(i * 7) % words.length]} number ${i * 31}`
    s.memory.add({ text, topic: `topic-${i % 50}`, author: solo.mesh.peerId }, i)
    // Acknowledged a thousand at a time, as a busy API would see them.
    if ((i + 1) % 1000 === 0) await s.documents.committed()
    if (i + 1 === 10_000) {
      solo.db?.db.pragma('wal_checkpoint(TRUNCATE)')
      sizeAt10k = statSync(solo.dbPath).size + (existsSync(`${solo.dbPath}-wal`) ? statSync(`${solo.dbPath}-wal`).size : 0)
    }
  }
  report('sync', 'db_bytes_per_10000_entries', sizeAt10k / 1024 / 1024, 'MB')
  const searchTimes: number[] = []
  for (let i = 0; i < 500; i++) {
    const q = `${words[i % words.length]} ${words[(i * 5 + 3) % words.length]}`
    const t = performance.now()
    s.memoryIndex.search(q, { limit: 10 })
    searchTimes.push(performance.now() - t)
  }
  report('sync', `search_p50_over_${SEARCH_ENTRIES}`, percentile(searchTimes, 50), 'ms')
  report('sync', `search_p99_over_${SEARCH_ENTRIES}`, percentile(searchTimes, 99), 'ms')
  stopState(solo)
  const t3 = performance.now()
  const load = await longestStall(() => startState(solo))
  report('sync', `state_load_with_${SEARCH_ENTRIES}_entries`, performance.now() - t3, 'ms')
  report('sync', `longest_stall_during_load_with_${SEARCH_ENTRIES}_entries`, load.stallMs, 'ms')
  // The index fills in the background after start; a search at once waits for the fill (as the
  // API does), while the event loop runs on.
  const t4 = performance.now()
  const first = await longestStall(async () => {
    await must(solo.state).memoryIndex.filled()
    return must(solo.state).memoryIndex.search('garden tea', { limit: 10 })
  })
  report('sync', `first_search_after_load_with_${SEARCH_ENTRIES}_entries`, performance.now() - t4, 'ms')
  report('sync', `longest_stall_during_first_search_with_${SEARCH_ENTRIES}_entries`, first.stallMs, 'ms')
  stopState(solo)
  // Left alone, the background fill ends this long after start, and a search then is fast.
  await startState(solo)
  const t5 = performance.now()
  await until(() => must(solo.state).memoryIndex.isFilled())
  report('sync', `index_background_fill_with_${SEARCH_ENTRIES}_entries`, performance.now() - t5, 'ms')
  const t6 = performance.now()
  must(solo.state).memoryIndex.search('garden tea', { limit: 10 })
  report('sync', `first_search_after_background_fill_with_${SEARCH_ENTRIES}_entries`, performance.now() - t6, 'ms')
  stopState(solo)
  await solo.mesh.stop()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
