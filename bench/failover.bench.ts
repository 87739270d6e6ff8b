/**
 * Leadership on real loopback nodes (in-process, default election settings):
 * failover from an abrupt stop of the leader (its sockets close, as on SIGKILL) to another
 * node's lease acquisition, p50/p99 over FAILOVER_KILLS kills, for 3 and 5 nodes and for two
 * machines with a witness; graceful hand-off time; election traffic per node per second.
 */
import { benchNode, clock, startBenchMesh as start, until, type BenchNode as Node } from './bench-node.js'
import { percentile, report } from './report.js'

const KILLS = Number(process.env.BENCH_FAILOVER_KILLS ?? 50)
const HANDOFFS = Number(process.env.BENCH_HANDOFFS ?? 20)

const leaderOf = (nodes: Node[]): Node | null => {
  const l = nodes.filter((n) => n.mesh.leader().role === 'leader')
  return l.length === 1 ? (l[0] as Node) : null
}

/** Connected to every other member and witness. */
const connectedToAll = (n: Node, size: number): boolean => n.mesh.peers().filter((p) => !p.self && p.connected).length === size - 1

/** `size` machines, and with `witness` one more node that is the witness. */
async function cluster(size: number, witness: boolean): Promise<Node[]> {
  const nodes: Node[] = []
  const total = size + (witness ? 1 : 0)
  for (let i = 0; i < total; i++) {
    const isWitness = i === size
    const n = benchNode(isWitness ? 'witness' : `n${i}`, i === 0, isWitness)
    await start(n)
    if (i > 0) await n.mesh.join((nodes[0] as Node).mesh.invite(900_000, isWitness ? 'witness' : 'member').token)
    nodes.push(n)
  }
  await until(() => (nodes.every((a) => connectedToAll(a, total)) ? true : null))
  return nodes
}

for (const [size, witness] of [[3, false], [5, false], [2, true]] as const) {
  const nodes = await cluster(size, witness)
  const total = nodes.length
  const shape = witness ? `${size}_machines_witness` : `${size}_nodes`
  await until(() => leaderOf(nodes))
  const times: number[] = []
  for (let k = 0; k < KILLS; k++) {
    const old = await until(() => leaderOf(nodes))
    const others = nodes.filter((n) => n !== old)
    const acquired = new Promise<number>((resolve) => {
      const offs = others.map((n) => n.mesh.onLease('lease:acquired', () => {
        for (const off of offs) off()
        resolve(performance.now())
      }))
    })
    const t0 = performance.now()
    await old.mesh.stop()
    times.push((await acquired) - t0)
    await start(old)
    await until(() => (connectedToAll(old, total) ? true : null))
  }
  report('failover', `failover_${shape}_p50`, percentile(times, 50), 'ms')
  report('failover', `failover_${shape}_p99`, percentile(times, 99), 'ms')

  if (size === 3) {
    const handoffs: number[] = []
    for (let h = 0; h < HANDOFFS; h++) {
      const old = await until(() => leaderOf(nodes))
      const acquired = new Promise<number>((resolve) => {
        const offs = nodes.filter((n) => n !== old).map((n) => n.mesh.onLease('lease:acquired', () => {
          for (const off of offs) off()
          resolve(performance.now())
        }))
      })
      const t0 = performance.now()
      await old.mesh.handOff()
      handoffs.push((await acquired) - t0)
      await clock.sleep(300)
    }
    report('failover', 'handoff_p50', percentile(handoffs, 50), 'ms')
    report('failover', 'handoff_p99', percentile(handoffs, 99), 'ms')

    const before = nodes.map((n) => n.mesh.electionTraffic())
    await clock.sleep(10_000)
    const after = nodes.map((n) => n.mesh.electionTraffic())
    const perNode = after.map((a, i) => ({ messages: a.messages - (before[i]?.messages ?? 0), bytes: a.bytes - (before[i]?.bytes ?? 0) }))
    const leaderIdx = nodes.indexOf(leaderOf(nodes) as Node)
    const leaderTraffic = perNode[leaderIdx] ?? { messages: 0, bytes: 0 }
    const followers = perNode.filter((_, i) => i !== leaderIdx)
    report('failover', 'heartbeat_leader_messages_per_second', leaderTraffic.messages / 10, 'msg/s')
    report('failover', 'heartbeat_leader_bytes_per_second', leaderTraffic.bytes / 10, 'B/s')
    report('failover', 'heartbeat_follower_messages_per_second', followers.reduce((s, f) => s + f.messages, 0) / followers.length / 10, 'msg/s')
  }
  for (const n of nodes) await n.mesh.stop()
}
