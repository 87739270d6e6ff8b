/**
 * Removing a machine from the mesh, and leaving it. A removal appends a signed `remove` to
 * the roster and, when the removed machine was a member, publishes a new mesh key epoch
 * sealed to the remaining members only, so the removed machine cannot read what follows. A
 * witness never held a mesh key, so its removal needs no new epoch.
 */
import { fromHex, generateMeshKey, type MeshKey } from '../identity/index.js'
import type { Logger } from '../runtime/index.js'
import type { MeshLibp2p } from './host.js'
import type { Roster, RosterMember } from './roster.js'

export interface RemovalDeps {
  logger: Logger
  roster: Roster
  machineSeed: Uint8Array
  selfPeerId: string
  /** The mesh key epochs this machine holds, oldest first. */
  keys: MeshKey[]
  now: number
}

/** Removes the member `query` names (throws ROSTER_MEMBER_NOT_FOUND) and rotates the mesh key if it held one. */
export function removeMember(deps: RemovalDeps, query: string): RosterMember {
  const { roster } = deps
  const subject = roster.find(query)
  roster.remove(deps.machineSeed, fromHex(subject.publicKey), deps.now)
  if (subject.peerId !== deps.selfPeerId && subject.role === 'member') {
    const next = Math.max(roster.latestEpoch(), deps.keys.at(-1)?.epoch ?? 0) + 1
    roster.publishMeshKey(deps.machineSeed, generateMeshKey(next), deps.now)
  }
  deps.logger.info({ peerId: subject.peerId, name: subject.name }, 'machine removed from the mesh')
  return subject
}

export interface LeaveDeps {
  logger: Logger
  libp2p: MeshLibp2p
  roster: Roster
  machineSeed: Uint8Array
  machinePublicKey: Uint8Array
  now: number
  /** The participants connected now: they hear of the removal before we hang up. */
  peers: string[]
  push(peerId: string): Promise<void>
  /** Stops redialling the members this machine is leaving. */
  stopReconnecting(): void
  /** Marks the time between our self-removal and our hanging up (see roster-change.ts). */
  setLeaving(leaving: boolean): void
}

/** Removes this machine itself: pushes the signed self-removal to the connected peers, then hangs up. */
export async function leaveMesh(deps: LeaveDeps): Promise<void> {
  deps.setLeaving(true)
  deps.roster.remove(deps.machineSeed, deps.machinePublicKey, deps.now)
  await Promise.all(deps.peers.map((p) => deps.push(p)))
  deps.stopReconnecting()
  for (const connection of deps.libp2p.getConnections()) {
    await connection.close().catch((err: unknown) => {
      deps.logger.debug({ code: (err as { code?: unknown } | null)?.code ?? 'MESH_CLOSE_FAILED', peerId: connection.remotePeer.toString() }, 'a connection did not close cleanly on leaving; it is aborted')
      connection.abort(err instanceof Error ? err : new Error('left the mesh'))
    })
  }
  deps.setLeaving(false)
}
