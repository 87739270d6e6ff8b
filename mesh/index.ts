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
export {
  MESH_ERROR_CODES,
  MeshAddressInvalidError,
  MeshError,
  MeshListenError,
  MeshNotMemberError,
  MeshPeerNotConnectedError,
  MeshRoleMismatchError,
} from './errors.js'
export type { MeshErrorCode } from './errors.js'
export { createMesh } from './mesh-service.js'
export { rosterVoters } from './voters.js'
export type { JoinSummary, JoinedMembership, Mesh, MeshDeps, MeshMembership, MeshOptions, MeshStatus, WitnessMembership } from './mesh-service.js'
export type { PeerView } from './peer-health.js'
export type { FailureDetectorOptions } from './failure-detector.js'
export type { ReconnectOptions } from './reconnect.js'
export type { Roster, RosterMember, RosterMergeResult, RosterRepairs, RosterStore } from './roster.js'
export type { Invitation } from './invitation.js'
export type { InvitationRecord, InvitationStore } from './pairing-inviter.js'
export { createMemoryInvitationStore } from './invitation-store.js'
export { createMemoryRosterStore, isGenesisId } from './roster-store.js'
export { readInvitation } from './invitation.js'
export { meshIdFromAgentKey } from './roster-events.js'
export {
  PAIRING_PROTOCOL,
  PAIRING_VERSION,
  TYPE_JOIN_ACCEPT as PAIRING_TYPE_JOIN_ACCEPT,
  TYPE_JOIN_REJECT as PAIRING_TYPE_JOIN_REJECT,
  TYPE_JOIN_REQUEST as PAIRING_TYPE_JOIN_REQUEST,
} from './pairing-protocol.js'
export { ROSTER_SYNC_PROTOCOL, TYPE_STATE as ROSTER_TYPE_STATE, VERSION as ROSTER_SYNC_VERSION } from './roster-sync-protocol.js'
export {
  PairingAlreadyMemberError,
  PairingFailedError,
  PairingFrameMalformedError,
  PairingInvitationExpiredError,
  PairingInvitationForgedError,
  PairingInvitationMalformedError,
  PairingInvitationUnknownError,
  PairingInvitationUsedError,
  PairingInviterUnreachableError,
  PairingNoAnswerError,
  PairingPeerMismatchError,
  PairingPeerRemovedError,
  PairingProofInvalidError,
  PairingRateLimitedError,
  PairingRefusedError,
  PairingRoleMismatchError,
  PairingStoreFailedError,
  PairingVersionUnsupportedError,
  PairingWelcomeInvalidError,
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
export { ELECTION_DEFAULTS, createElection, electionMode } from './election.js'
export type { Election, ElectionMode, ElectionOptions, LeaderInfo, TermStore, Voter } from './election.js'
export { REPAIRED_TERM, checkStoredTerm, createMemoryTermStore } from './term-store.js'
export type { StateRepair, TermState } from './term-store.js'
export {
  ELECTION_PROTOCOL,
  MAX_TERM,
  TYPE_HEARTBEAT as ELECTION_TYPE_HEARTBEAT,
  TYPE_HEARTBEAT_REPLY as ELECTION_TYPE_HEARTBEAT_REPLY,
  TYPE_PRE_VOTE as ELECTION_TYPE_PRE_VOTE,
  TYPE_PRE_VOTE_REPLY as ELECTION_TYPE_PRE_VOTE_REPLY,
  TYPE_REQUEST_VOTE as ELECTION_TYPE_REQUEST_VOTE,
  TYPE_TIMEOUT_NOW as ELECTION_TYPE_TIMEOUT_NOW,
  TYPE_VOTE as ELECTION_TYPE_VOTE,
} from './election-protocol.js'
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
