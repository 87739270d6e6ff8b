/** Real in-process mesh nodes on loopback for integration tests, stopped when the test ends. */
import { onTestFinished } from 'vitest'
import { generateMeshKey, generateSeed, type MeshKey } from '../../identity/index.js'
import { createMemoryTermStore, createMesh, createSystemClock, silentLogger, type JoinedMembership, type Mesh, type RosterStore, type TermStore } from '../../mesh/index.js'

export interface TestNode {
  mesh: Mesh
  name: string
  seed: Uint8Array
  store: RosterStore & { updates: Uint8Array[] }
  persisted: { joined: JoinedMembership | null; meshKeys: MeshKey[] }
  restart(): Promise<TestNode>
}

export function memoryStore(updates: Uint8Array[] = []): RosterStore & { updates: Uint8Array[] } {
  return { updates, load: () => [...updates], append: (u) => void updates.push(u) }
}

interface NodeSpec {
  name: string
  seed?: Uint8Array
  founder?: boolean
  membership?: JoinedMembership | null
  store?: RosterStore & { updates: Uint8Array[] }
  port?: number
  termStore?: TermStore
  priority?: number
}

export async function startTestNode(spec: NodeSpec): Promise<TestNode> {
  const seed = spec.seed ?? generateSeed()
  const store = spec.store ?? memoryStore()
  const termStore = spec.termStore ?? createMemoryTermStore()
  const membership: JoinedMembership | null =
    spec.membership !== undefined ? spec.membership : spec.founder === true ? { agentName: 'kira', agentSeed: generateSeed(), meshKeys: [generateMeshKey(1)] } : null
  const persisted: TestNode['persisted'] = { joined: membership, meshKeys: membership?.meshKeys ?? [] }
  const mesh = await createMesh(
    {
      clock: createSystemClock(),
      logger: silentLogger,
      machineSeed: seed,
      machineName: spec.name,
      rosterStore: store,
      membership,
      persistJoin: (joined) => {
        persisted.joined = joined
        persisted.meshKeys = joined.meshKeys
      },
      persistMeshKeys: (keys) => {
        persisted.meshKeys = keys
      },
      termStore,
    },
    {
      listen: [`/ip4/127.0.0.1/tcp/${spec.port ?? 0}`],
      pingIntervalMs: 500,
      reconnect: { intervalMs: 200, initialBackoffMs: 200, maxBackoffMs: 1000 },
      pairing: { maxAttemptsPerPeer: 5, attemptWindowMs: 60_000 },
      priority: spec.priority ?? 0,
    },
  )
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await mesh.stop()
  }
  onTestFinished(stop)
  await mesh.start()
  const node: TestNode = {
    mesh,
    name: spec.name,
    seed,
    store,
    persisted,
    async restart() {
      await stop()
      const joined = persisted.joined === null ? null : { ...persisted.joined, meshKeys: persisted.meshKeys }
      return startTestNode({ name: spec.name, seed, store, membership: joined, termStore, ...(spec.priority === undefined ? {} : { priority: spec.priority }) })
    },
  }
  return node
}

export function connectedTo(node: TestNode, other: TestNode): boolean {
  return node.mesh.peers().some((p) => p.peerId === other.mesh.peerId && p.connected)
}
