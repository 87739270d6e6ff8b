/**
 * The connection gater: a roster member is admitted; a removed machine never is; an
 * unknown peer only while this node holds an open invitation, or one used or expired within
 * the last hour so that a replay gets a readable refusal (it may then open only the pairing
 * protocol, which the protocol guard enforces), or when we dial an inviter to join.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export interface GaterPolicy {
  /** A member or the witness: admitted. */
  isMember(peerId: string): boolean
  wasRemoved(peerId: string): boolean
  /** Cut off by the fault suite's partition hook (never in normal operation): refused like a removed machine. */
  isCutOff?(peerId: string): boolean
  /** Whether an unknown peer may connect in order to pair with us. */
  acceptsPairing(): boolean
  /** Whether we are dialling this peer to join its mesh. */
  isJoining(peerId: string): boolean
}

export function admits(policy: GaterPolicy, peerId: string, direction: 'inbound' | 'outbound'): boolean {
  if (policy.wasRemoved(peerId) || policy.isCutOff?.(peerId) === true) return false
  if (policy.isMember(peerId)) return true
  return direction === 'inbound' ? policy.acceptsPairing() : policy.isJoining(peerId)
}

export function createConnectionGater(policy: () => GaterPolicy | null): ConnectionGater {
  const deny = (peerId: PeerId, direction: 'inbound' | 'outbound'): boolean => {
    const current = policy()
    // Before the mesh part is wired (start-up), nothing is admitted.
    if (current === null) return true
    return !admits(current, peerId.toString(), direction)
  }
  return {
    denyDialPeer: (peerId) => deny(peerId, 'outbound'),
    denyInboundEncryptedConnection: (peerId) => deny(peerId, 'inbound'),
    denyOutboundEncryptedConnection: (peerId) => deny(peerId, 'outbound'),
    denyInboundRelayedConnection: () => true,
    denyInboundRelayReservation: () => true,
  }
}
