/**
 * Pairing and reconnection on loopback with real libp2p nodes (in-process):
 * - pair_to_connected: from `join(invitation)` to both sides listing each other as connected
 * - reconnect_after_restart: from a member's restart (start() called) to both sides connected again
 */
import { generateMeshKey, generateSeed, type MeshKey } from '../identity/index.js'
import { createMemoryTermStore, createMesh, type JoinedMembership, type Mesh, type RosterStore } from '../mesh/index.js'
import { createSystemClock, silentLogger } from '../runtime/index.js'
import { percentile, report } from './report.js'

const clock = createSystemClock()
const PAIRINGS = Number(process.env.BENCH_PAIRINGS ?? 20)
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 10)

interface Node {
  mesh: Mesh
  seed: Uint8Array
  store: RosterStore
  joined: JoinedMembership | null
  keys: MeshKey[]
}

async function node(name: string, membership: JoinedMembership | null, seed = generateSeed(), updates: Uint8Array[] = []): Promise<Node> {
  const n: Node = { mesh: undefined as unknown as Mesh, seed, store: { load: () => [...updates], append: (u) => void updates.push(u) }, joined: membership, keys: membership?.meshKeys ?? [] }
  n.mesh = await createMesh(
    {
      clock,
      logger: silentLogger,
      machineSeed: seed,
      machineName: name,
      rosterStore: n.store,
      membership,
      persistJoin: (j) => {
        if (j.role === 'witness') throw new Error('bench machines join as members')
        n.joined = j
        n.keys = j.meshKeys
      },
      persistMeshKeys: (k) => {
        n.keys = k
      },
      termStore: createMemoryTermStore(),
    },
    { listen: ['/ip4/127.0.0.1/tcp/0'] },
  )
  await n.mesh.start()
  return n
}

const connected = (a: Mesh, b: Mesh): boolean => a.peers().some((p) => p.peerId === b.peerId && p.connected)

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = clock.now() + timeoutMs
  while (!condition()) {
    if (clock.now() > deadline) throw new Error('timed out')
    await clock.sleep(1)
  }
}

const founder = await node('founder', { agentName: 'bench', agentSeed: generateSeed(), meshKeys: [generateMeshKey(1)] })
const pairTimes: number[] = []
const joiners: Node[] = []
for (let i = 0; i < PAIRINGS; i++) {
  const joiner = await node(`j${i}`, null)
  const invitation = founder.mesh.invite(15 * 60_000)
  const t0 = performance.now()
  await joiner.mesh.join(invitation.token)
  await until(() => connected(joiner.mesh, founder.mesh) && connected(founder.mesh, joiner.mesh))
  pairTimes.push(performance.now() - t0)
  if (process.env.BENCH_VERBOSE) process.stderr.write(`pair ${i} ${Math.round(performance.now() - t0)} ms\n`)
  joiners.push(joiner)
  // Keep the mesh small so every pairing is measured under the same load.
  if (joiners.length > 2) {
    const old = joiners.shift()
    if (old !== undefined) {
      await founder.mesh.remove(old.mesh.peerId)
      await old.mesh.stop()
    }
  }
}
report('mesh-pairing', 'pair_to_connected_p50', percentile(pairTimes, 50), 'ms')
report('mesh-pairing', 'pair_to_connected_p99', percentile(pairTimes, 99), 'ms')

const member = joiners.at(-1)
if (member === undefined) throw new Error('no member to restart')
let current = member
const updates: Uint8Array[] = []
for (const u of member.store.load()) updates.push(u)
const reconnectTimes: number[] = []
for (let i = 0; i < RESTARTS; i++) {
  await current.mesh.stop()
  const membership = current.joined === null ? null : { ...current.joined, meshKeys: current.keys }
  const t0 = performance.now()
  current = await node('restarted', membership, current.seed, updates)
  await until(() => connected(current.mesh, founder.mesh) && connected(founder.mesh, current.mesh))
  reconnectTimes.push(performance.now() - t0)
}
report('mesh-pairing', 'reconnect_after_restart_p50', percentile(reconnectTimes, 50), 'ms')
report('mesh-pairing', 'reconnect_after_restart_p99', percentile(reconnectTimes, 99), 'ms')

await current.mesh.stop()
for (const j of joiners) if (j !== member) await j.mesh.stop()
await founder.mesh.stop()
