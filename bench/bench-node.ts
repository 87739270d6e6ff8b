/**
 * A mesh node for benchmarks: real libp2p on loopback, with its roster log, membership and
 * election term kept in memory so the same machine can be stopped and started again.
 */
import { generateMeshKey, generateSeed } from '../identity/index.js'
import { createMemoryTermStore, createMesh, type Mesh, type MeshMembership, type TermStore } from '../mesh/index.js'
import { createSystemClock, silentLogger } from '../runtime/index.js'

export const clock = createSystemClock()

export interface BenchNode {
  mesh: Mesh
  seed: Uint8Array
  name: string
  updates: Uint8Array[]
  joined: MeshMembership | null
  terms: TermStore
  /** Runs as a witness: votes, never leads. */
  witness: boolean
}

/** A machine record; `founder` gives it a new agent and mesh key. Not started. */
export function benchNode(name: string, founder: boolean, witness = false): BenchNode {
  return {
    mesh: undefined as unknown as Mesh,
    seed: generateSeed(),
    name,
    updates: [],
    joined: founder ? { agentName: 'bench', agentSeed: generateSeed(), meshKeys: [generateMeshKey(1)] } : null,
    terms: createMemoryTermStore(),
    witness,
  }
}

/** Creates and starts the machine's mesh (again, after a stop) from what it kept. */
export async function startBenchMesh(n: BenchNode): Promise<void> {
  n.mesh = await createMesh(
    {
      clock,
      logger: silentLogger,
      machineSeed: n.seed,
      machineName: n.name,
      rosterStore: { load: () => [...n.updates], append: (u) => void n.updates.push(u) },
      membership: n.joined,
      persistJoin: (j) => {
        n.joined = j
      },
      persistMeshKeys: (k) => {
        if (n.joined !== null && n.joined.role !== 'witness') n.joined = { ...n.joined, meshKeys: k }
      },
      termStore: n.terms,
    },
    { listen: ['/ip4/127.0.0.1/tcp/0'], role: n.witness ? 'witness' : 'member' },
  )
  await n.mesh.start()
}

/** Polls `f` every millisecond until it gives a value. */
export async function until<T>(f: () => T | null | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = clock.now() + timeoutMs
  for (;;) {
    const v = f()
    if (v !== null && v !== undefined && v !== false) return v
    if (clock.now() > deadline) throw new Error('timed out')
    await clock.sleep(1)
  }
}
