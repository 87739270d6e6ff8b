/**
 * mesh: the libp2p host of one machine (TCP, Noise, yamux, identify, ping), the signed
 * roster (members, and a witness that votes but never leads), the connection gater, pairing
 * by invitation, reconnection, peer health and the leader election with its leases and
 * fencing. (The Clock and the Logger it takes live in runtime/.)
 *
 *   const host = await createMeshHost({ seed }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
 *   await host.start()
 *   console.log(host.peerId.toString(), host.addresses())
 */
export { createMeshHost, peerIdFromSeed } from './host.js'
export type { MeshHost, MeshHostDeps, MeshHostOptions, MeshLibp2p } from './host.js'
export type { AdmissionOptions } from './admission.js'
export { MeshAddressInvalidError, MeshError, MeshListenError } from './errors.js'
export { createMesh } from './mesh-service.js'
export { rosterVoters } from './voters.js'
export type { JoinSummary, JoinedMembership, Mesh, MeshDeps, MeshMembership, MeshOptions, MeshStatus, WitnessMembership } from './mesh-service.js'
export type { PeerView } from './peer-health.js'
export type { Roster, RosterMember, RosterMergeResult, RosterRepairs, RosterStore } from './roster.js'
export type { Invitation } from './invitation.js'
export type { InvitationRecord, InvitationStore } from './pairing.js'
export { createMemoryInvitationStore } from './invitation-store.js'
export { createMemoryRosterStore, isGenesisId } from './roster-store.js'
export { readInvitation } from './invitation.js'
export { meshIdFromAgentKey } from './roster-events.js'
export { PAIRING_PROTOCOL } from './pairing-protocol.js'
export { ROSTER_SYNC_PROTOCOL } from './roster-sync-protocol.js'
export {
  PairingAlreadyMemberError,
  PairingFrameMalformedError,
  PairingInvitationExpiredError,
  PairingInvitationForgedError,
  PairingInvitationMalformedError,
  PairingInvitationUnknownError,
  PairingInvitationUsedError,
  PairingPeerMismatchError,
  PairingProofInvalidError,
  PairingRateLimitedError,
  PairingRefusedError,
  PairingRoleMismatchError,
  PairingVersionUnsupportedError,
  RosterEventInvalidError,
  RosterGenesisForeignError,
  RosterGenesisMissingError,
  RosterMemberNotFoundError,
  RosterNotMemberError,
  RosterSignerRemovedError,
  RosterUpdateTooCostlyError,
} from './errors.js'
export { frameStream } from './frame-stream.js'
export type { FrameStream } from './frame-stream.js'
export { createElection, electionMode } from './election.js'
export type { Election, ElectionMode, ElectionOptions, LeaderInfo, TermStore, Voter } from './election.js'
export { REPAIRED_TERM, checkStoredTerm, createMemoryTermStore } from './term-store.js'
export type { StateRepair, TermState } from './term-store.js'
export { ELECTION_PROTOCOL, MAX_TERM } from './election-protocol.js'
export {
  ElectionDeliveryFailedError,
  ElectionFrameMalformedError,
  ElectionTermExhaustedError,
  ElectionWitnessCannotLeadError,
  ElectionWitnessTermRefusedError,
  LeaseTermStaleError,
} from './election-errors.js'
export type { ElectionErrorCode } from './election-errors.js'
export { findLeaseViolations } from './lease-log.js'
export type { LeaseInterval, LeaseViolation } from './lease-log.js'
