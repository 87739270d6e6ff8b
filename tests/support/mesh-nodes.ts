/** Real in-process mesh nodes on loopback for integration tests, stopped when the test ends. */
import { onTestFinished } from 'vitest'
import { waitFor } from './wait-for.js'
import { generateMeshKey, generateSeed, type MeshKey } from '../../identity/index.js'
import { createMemoryTermStore, createMesh, type InvitationStore, type Mesh, type MeshMembership, type MeshOptions, type RosterStore, type TermStore } from '../../mesh/index.js'
import { createSystemClock, silentLogger, type Clock, type Logger } from '../../runtime/index.js'

export interface TestNode {
  mesh: Mesh
  name: string
  seed: Uint8Array
  store: RosterStore & { updates: Uint8Array[] }
  persisted: { joined: MeshMembership | null; meshKeys: MeshKey[] }
  /**
   * Stops and starts again from what it kept; `samePort` listens on the port it had, as the
   * daemon does (start the node on a `stablePort()` then, which no other process takes meanwhile).
   */
  restart(options?: { samePort?: boolean }): Promise<TestNode>
}

export function memoryStore(updates: Uint8Array[] = []): RosterStore & { updates: Uint8Array[] } {
  return { updates, load: () => [...updates], append: (u) => void updates.push(u) }
}

interface NodeSpec {
  name: string
  seed?: Uint8Array
  founder?: boolean
  membership?: MeshMembership | null
  /** Runs as a witness: joins with a witness invitation, votes, never leads. */
  witness?: boolean
  /** Keeps this node's invitations across restart(). */
  invitations?: InvitationStore
  store?: RosterStore & { updates: Uint8Array[] }
  port?: number
  termStore?: TermStore
  priority?: number
  /** Where the node logs (silent by default); kept across restart(). */
  logger?: Logger
  /** Runs after the mesh is created, before it starts (to subscribe to what start does). */
  beforeStart?: (mesh: Mesh) => void
  /** The node's clock; the system clock without one. */
  clock?: Clock
  /** Mesh options laid over the test defaults (admission limits, pairing). */
  options?: Partial<MeshOptions>
}

export async function startTestNode(spec: NodeSpec): Promise<TestNode> {
  const seed = spec.seed ?? generateSeed()
  const store = spec.store ?? memoryStore()
  const termStore = spec.termStore ?? createMemoryTermStore()
  const membership: MeshMembership | null =
    spec.membership !== undefined ? spec.membership : spec.founder === true ? { agentName: 'kira', agentSeed: generateSeed(), meshKeys: [generateMeshKey(1)] } : null
  const persisted: TestNode['persisted'] = { joined: membership, meshKeys: membership === null || membership.role === 'witness' ? [] : membership.meshKeys }
  const mesh = await createMesh(
    {
      clock: spec.clock ?? createSystemClock(),
      logger: spec.logger ?? silentLogger,
      machineSeed: seed,
      machineName: spec.name,
      rosterStore: store,
      membership,
      persistJoin: (joined) => {
        persisted.joined = joined
        persisted.meshKeys = joined.role === 'witness' ? [] : joined.meshKeys
      },
      persistMeshKeys: (keys) => {
        persisted.meshKeys = keys
      },
      termStore,
      ...(spec.invitations === undefined ? {} : { invitationStore: spec.invitations }),
    },
    {
      listen: [`/ip4/127.0.0.1/tcp/${spec.port ?? 0}`],
      pingIntervalMs: 500,
      reconnect: { intervalMs: 200, initialBackoffMs: 200, maxBackoffMs: 1000 },
      pairing: { maxAttemptsPerPeer: 5, attemptWindowMs: 60_000 },
      priority: spec.priority ?? 0,
      role: spec.witness === true ? 'witness' : 'member',
      ...spec.options,
    },
  )
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await mesh.stop()
  }
  onTestFinished(stop)
  spec.beforeStart?.(mesh)
  await mesh.start()
  const node: TestNode = {
    mesh,
    name: spec.name,
    seed,
    store,
    persisted,
    async restart(restartOptions) {
      const port = restartOptions?.samePort === true ? Number(/\/tcp\/(\d+)/.exec(mesh.host.addresses()[0] ?? '')?.[1]) : undefined
      await stop()
      const kept = persisted.joined
      const joined = kept === null || kept.role === 'witness' ? kept : { ...kept, meshKeys: persisted.meshKeys }
      return startTestNode({
        name: spec.name,
        seed,
        store,
        membership: joined,
        termStore,
        ...(spec.priority === undefined ? {} : { priority: spec.priority }),
        ...(spec.logger === undefined ? {} : { logger: spec.logger }),
        ...(spec.clock === undefined ? {} : { clock: spec.clock }),
        ...(spec.options === undefined ? {} : { options: spec.options }),
        ...(spec.witness === undefined ? {} : { witness: spec.witness }),
        ...(spec.invitations === undefined ? {} : { invitations: spec.invitations }),
        ...(port === undefined ? {} : { port }),
      })
    },
  }
  return node
}

export function connectedTo(node: TestNode, other: TestNode): boolean {
  return node.mesh.peers().some((p) => p.peerId === other.mesh.peerId && p.connected)
}

/** The nodes that believe they lead. */
export function leading(nodes: TestNode[]): TestNode[] {
  return nodes.filter((n) => n.mesh.leader().role === 'leader')
}

/** Waits for exactly one leader that every one of `nodes` follows. */
export async function oneLeader(nodes: TestNode[], timeoutMs = 15_000): Promise<TestNode> {
  return waitFor(() => {
    const l = leading(nodes)
    if (l.length !== 1) return null
    const leader = l[0] as TestNode
    return nodes.every((n) => n.mesh.leader().leader === leader.mesh.peerId) ? leader : null
  }, { timeoutMs, what: 'one leader that everyone follows' })
}
