/**
 * Soak (`npm run bench -- soak`): three members on real loopback libp2p in one process, each
 * with its agent state, left alone for BENCH_SOAK_SECONDS (default 600) while one of them
 * writes a memory entry every BENCH_SOAK_WRITE_MS (default 200) and the others sync it. Meant
 * to run while a second `npm test` loads the machine. Nothing fails on purpose, so every
 * election after the first leader is spurious, as is every connection the failure detector
 * drops. Reports the elections and lease losses, the member disconnects, and the event loop's
 * delay (perf_hooks monitorEventLoopDelay: max and p99), the longest of which must stay under
 * one heartbeat (100 ms) for the leases to hold. The three nodes share this one event loop,
 * so a stall here is one all three suffer at once: harsher than three processes would be.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createAgentState, createSqliteDocumentStorage, openStateDb, type AgentState, type StateDb } from '../crdt/index.js'
import { ELECTION_DEFAULTS } from '../mesh/index.js'
import { silentLogger } from '../runtime/index.js'
import { benchNode, clock, startBenchMesh, until, type BenchNode } from './bench-node.js'
import { report } from './report.js'

const NAME = 'soak'
const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600)
const WRITE_MS = Number(process.env.BENCH_SOAK_WRITE_MS ?? 200)
if (!(SECONDS > 0) || !(WRITE_MS > 0)) throw new Error('BENCH_SOAK_SECONDS and BENCH_SOAK_WRITE_MS must be positive numbers')

interface Member {
  node: BenchNode
  db: StateDb
  state: AgentState
}

const dir = mkdtempSync(join(tmpdir(), 'instar-soak-'))
const members: Member[] = []
const offs: Array<() => void> = []
try {
  report(NAME, 'load_average_1m_at_start', loadavg()[0] ?? Number.NaN, 'load')
  for (let i = 0; i < 3; i++) {
    const node = benchNode(`n${i}`, i === 0)
    await startBenchMesh(node)
    if (i > 0) await node.mesh.join((members[0] as Member).node.mesh.invite(900_000).token)
    const db = openStateDb(join(dir, `n${i}.db`), clock.now())
    const state = createAgentState({ mesh: node.mesh, storage: createSqliteDocumentStorage(db), clock, logger: silentLogger })
    await state.start()
    members.push({ node, db, state })
  }
  const linked = (a: Member, b: Member): boolean => a.node.mesh.peers().some((p) => p.peerId === b.node.mesh.peerId && p.connected)
  await until(() => members.every((a) => members.every((b) => a === b || linked(a, b))))
  await until(() => {
    const l = members.filter((m) => m.node.mesh.leader().role === 'leader')
    return l.length === 1 && members.every((m) => m.node.mesh.leader().leader === l[0]?.node.mesh.peerId)
  })
  // Settled: from here on every election, lease loss and disconnect is spurious.
  const counts = { acquired: 0, lost: 0, disconnects: 0 }
  const terms = new Set(members.map((m) => m.node.mesh.leader().term))
  for (const m of members) {
    offs.push(m.node.mesh.onLease('lease:acquired', () => void counts.acquired++))
    offs.push(m.node.mesh.onLease('lease:lost', () => void counts.lost++))
    offs.push(m.node.mesh.on('member:disconnect', () => void counts.disconnects++))
  }
  const startTerm = Math.max(...terms)
  // Each sample is the time between two 10 ms timer turns, so a stall is a sample less 10 ms.
  const RESOLUTION_MS = 10
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  delay.enable()
  const writer = members[0] as Member
  let written = 0
  const writes = clock.setInterval(() => {
    writer.state.memory.add({ text: `soak entry ${written++}`, topic: 'soak', author: 'bench' }, clock.now())
  }, WRITE_MS)
  const endAt = clock.now() + SECONDS * 1000
  while (clock.now() < endAt) {
    await clock.sleep(Math.min(60_000, endAt - clock.now()))
    process.stderr.write(`soak: ${Math.round((SECONDS * 1000 - (endAt - clock.now())) / 1000)} s, ${counts.acquired} elections, longest stall ${Math.round(delay.max / 1e6 - RESOLUTION_MS)} ms, load ${loadavg()[0]?.toFixed(1)}\n`)
  }
  writes.cancel()
  delay.disable()
  await until(() => members.every((m) => m.state.memory.size() >= written), 60_000)
  const endTerm = Math.max(...members.map((m) => m.node.mesh.leader().term))
  report(NAME, 'duration', SECONDS, 's')
  report(NAME, 'load_average_1m_at_end', loadavg()[0] ?? Number.NaN, 'load')
  report(NAME, 'spurious_elections', counts.acquired, 'count')
  report(NAME, 'term_increase', endTerm - startTerm, 'terms')
  report(NAME, 'lease_losses', counts.lost, 'count')
  report(NAME, 'member_disconnects', counts.disconnects, 'count')
  report(NAME, 'writes_synced', written, 'count')
  report(NAME, 'event_loop_stall_max', delay.max / 1e6 - RESOLUTION_MS, 'ms')
  report(NAME, 'event_loop_stall_p99', delay.percentile(99) / 1e6 - RESOLUTION_MS, 'ms')
  report(NAME, 'event_loop_stall_mean', delay.mean / 1e6 - RESOLUTION_MS, 'ms')
  report(NAME, 'heartbeat_interval', ELECTION_DEFAULTS.heartbeatMs, 'ms')
} finally {
  for (const off of offs) off()
  for (const m of members) {
    m.state.stop()
    await m.node.mesh.stop()
    m.db.close()
  }
  rmSync(dir, { recursive: true, force: true })
}
