/**
 * What a machine holds once it is in a mesh, and how it comes to hold it: from its keystore at
 * start, or from a welcome when it joins. Opening the roster pins the genesis (the stored one,
 * or the welcome's); a member whose roster has none yet founds it.
 */
import { keyPairFromSeed, type MeshKey } from '../identity/index.js'
import type { Clock, Logger } from '../runtime/index.js'
import type { JoinSummary, MeshMembership } from './mesh-types.js'
import type { JoinResult } from './pairing-joiner.js'
import type { Welcome } from './pairing-welcome.js'
import { createRoster, type Roster, type RosterStore } from './roster.js'

/** agentSeed is null on a witness, which holds no agent key and no mesh keys. */
export interface MeshState {
  roster: Roster
  agentName: string
  agentSeed: Uint8Array | null
  agentPublicKey: Uint8Array
  keys: MeshKey[]
}

export interface MembershipDeps {
  clock: Clock
  logger: Logger
  machineSeed: Uint8Array
  machineName: string
  rosterStore: RosterStore
}

/** Opens the roster of `joined` and, for a member whose roster has no genesis, founds it. */
export function openMeshState(deps: MembershipDeps, joined: MeshMembership, initial?: Uint8Array): MeshState {
  const { logger } = deps
  const machine = keyPairFromSeed(deps.machineSeed)
  const agentPublicKey = joined.role === 'witness' ? joined.agentPublicKey : keyPairFromSeed(joined.agentSeed).publicKey
  const roster = createRoster({ agentPublicKey, store: deps.rosterStore, self: machine.publicKey })
  const { pinnedGenesis, droppedGeneses } = roster.repairs
  if (pinnedGenesis !== undefined) logger.info({ code: 'ROSTER_GENESIS_PINNED', genesis: pinnedGenesis }, 'pinned the genesis of the stored roster')
  if (droppedGeneses.length > 0) logger.warn({ code: 'ROSTER_GENESIS_FOREIGN', dropped: droppedGeneses }, 'dropped other geneses from the stored roster')
  // Pins the genesis the welcome carries: from now on a roster with any other is refused.
  if (initial !== undefined) roster.adopt(initial)
  if (joined.role === 'witness') return { roster, agentName: joined.agentName, agentSeed: null, agentPublicKey, keys: [] }
  if (roster.genesis() === undefined) roster.found(joined.agentSeed, { publicKey: machine.publicKey, name: deps.machineName }, deps.clock.now())
  return { roster, agentName: joined.agentName, agentSeed: joined.agentSeed, agentPublicKey, keys: [...joined.meshKeys] }
}

/** What the keystore keeps of a welcome. */
export function membershipFromWelcome(welcome: Welcome): MeshMembership {
  return welcome.role === 'witness'
    ? { role: 'witness', agentName: welcome.agent.name, agentPublicKey: welcome.agent.publicKey }
    : { agentName: welcome.agent.name, agentSeed: welcome.agent.seed, meshKeys: welcome.meshKeys.map((k) => ({ epoch: k.epoch, key: k.key })) }
}

export function joinSummary(result: JoinResult, roster: Roster): JoinSummary {
  return {
    mesh: result.invitation.meshId,
    inviter: result.invitation.inviterPeerId,
    sas: result.invitation.sas,
    members: roster.participants(),
  }
}
