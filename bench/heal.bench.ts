/**
 * Reconnection after a cut (`npm run bench -- heal`): three members on real loopback libp2p
 * (in one process), each with its agent state (SQLite in a temp dir, the sync engine). A
 * follower is cut off from the other two with the fault hook's silent cut (`mesh.partition(…,
 * { silent: true })`, what POST /debug/partition does with `"silent": true`): its connections
 * stay open and carry nothing, as across a pulled cable, so only the failure detector can tell.
 * The leader writes a memory entry during the cut. After BENCH_HEAL_CUTS seconds (default
 * "5,30,120", the issue's) the cut is healed without telling anyone; then, from the heal:
 *
 *   detect  (from the cut) until both sides of every cut link show it as not connected
 *   connect until the member is connected to both others again
 *   follow  until the member follows the leader (and the leader still leads)
 *   sync    until the member holds the entry written during the cut
 *
 * p50 and p99 over BENCH_HEAL_REPEATS cuts of each length (default 3). Goals: detect < 2 s,
 * follow and sync < 2 s p99 after the heal, whatever the length of the cut.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAgentState, createSqliteDocumentStorage, openStateDb, type AgentState, type StateDb } from '../crdt/index.js'
import { silentLogger } from '../runtime/index.js'
import { benchNode, clock, startBenchMesh, until, type BenchNode } from './bench-node.js'
import { percentile, report } from './report.js'

const NAME = 'heal'
const CUTS_S = (process.env.BENCH_HEAL_CUTS ?? '5,30,120').split(',').map((s) => {
  const n = Number(s.trim())
  if (!Number.isFinite(n) || n <= 0) throw new Error(`BENCH_HEAL_CUTS: "${s}" is not a number of seconds`)
  return n
})
const REPEATS = Number(process.env.BENCH_HEAL_REPEATS ?? 3)
if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error('BENCH_HEAL_REPEATS must be a whole number >= 1')

interface Member {
  node: BenchNode
  db: StateDb
  state: AgentState
}

const dir = mkdtempSync(join(tmpdir(), 'instar-heal-'))
const members: Member[] = []
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
  const allLinked = (): boolean => members.every((a) => members.every((b) => a === b || linked(a, b)))
  await until(() => allLinked())
  const leaderOf = (): Member | null => {
    const l = members.filter((m) => m.node.mesh.leader().role === 'leader')
    return l.length === 1 && members.every((m) => m.node.mesh.leader().leader === l[0]?.node.mesh.peerId) ? (l[0] as Member) : null
  }

  for (const cutS of CUTS_S) {
    const figures = { detect: [] as number[], connect: [] as number[], follow: [] as number[], sync: [] as number[] }
    for (let r = 0; r < REPEATS; r++) {
      await until(() => allLinked())
      const leader = await until(leaderOf)
      const cutOff = members.find((m) => m !== leader) as Member
      const others = members.filter((m) => m !== cutOff)
      const cutAt = clock.now()
      await cutOff.node.mesh.partition(others.map((o) => o.node.mesh.peerId), { silent: true })
      for (const o of others) await o.node.mesh.partition([cutOff.node.mesh.peerId], { silent: true })
      const id = leader.state.memory.add({ text: `written during cut ${cutS}s #${r}`, topic: 'heal', author: 'bench' }, clock.now())
      await until(() => others.every((o) => !linked(o, cutOff) && !linked(cutOff, o)), cutS * 1000 + 60_000)
      figures.detect.push(clock.now() - cutAt)
      await clock.sleep(Math.max(0, cutAt + cutS * 1000 - clock.now()))

      for (const m of members) await m.node.mesh.partition([], { silent: true })
      const healedAt = clock.now()
      const pending = new Set(['connect', 'follow', 'sync'] as const)
      await until(() => {
        const at = clock.now() - healedAt
        if (pending.has('connect') && others.every((o) => linked(o, cutOff) && linked(cutOff, o))) {
          pending.delete('connect')
          figures.connect.push(at)
        }
        if (pending.has('follow') && cutOff.node.mesh.leader().leader === leader.node.mesh.peerId && leader.node.mesh.leader().role === 'leader') {
          pending.delete('follow')
          figures.follow.push(at)
        }
        if (pending.has('sync') && cutOff.state.memory.get(id) !== undefined) {
          pending.delete('sync')
          figures.sync.push(at)
        }
        return pending.size === 0
      }, 120_000)
    }
    for (const [what, values] of Object.entries(figures)) {
      const from = what === 'detect' ? 'after_cut' : 'after_heal'
      report(NAME, `cut_${cutS}s_${what}_${from}_p50`, percentile(values, 50), 'ms')
      report(NAME, `cut_${cutS}s_${what}_${from}_p99`, percentile(values, 99), 'ms')
    }
  }
} finally {
  for (const m of members) {
    m.state.stop()
    await m.node.mesh.stop()
    m.db.close()
  }
  rmSync(dir, { recursive: true, force: true })
}
