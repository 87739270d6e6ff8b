/**
 * The public shape of one machine's mesh (see mesh-service.ts for how it is wired): what it
 * needs, what it takes as options, and what it offers the rest of instar.
 */
import type { Stream, StreamHandler } from '@libp2p/interface'
import type { MeshKey } from '../identity/index.js'
import type { AdmissionOptions } from './admission.js'
import type { Clock } from '../runtime/index.js'
import type { ElectionOptions, LeaderInfo, TermStore } from './election.js'
import type { FailureDetectorOptions } from './failure-detector.js'
import type { MeshHost } from './host.js'
import type { Invitation } from './invitation.js'
import type { Logger } from '../runtime/index.js'
import type { InvitationStore, InviterOptions } from './pairing-inviter.js'
import type { PeerView } from './peer-health.js'
import type { ReconnectOptions } from './reconnect.js'
import type { Roster, RosterMember, RosterStore } from './roster.js'

/** What a member holds: the agent seed and the mesh key epochs. */
export interface JoinedMembership {
  role?: 'member'
  agentName: string
  agentSeed: Uint8Array
  meshKeys: MeshKey[]
}

/** What a witness holds: only the agent's public key, to check the roster's signatures. */
export interface WitnessMembership {
  role: 'witness'
  agentName: string
  agentPublicKey: Uint8Array
}

export type MeshMembership = JoinedMembership | WitnessMembership

export interface MeshDeps {
  clock: Clock
  logger: Logger
  machineSeed: Uint8Array
  machineName: string
  rosterStore: RosterStore
  /** What the keystore holds: the agent and mesh keys (a witness: the agent public key), or null for a machine waiting to join. */
  membership: MeshMembership | null
  /** Persists what joining gave us, before the mesh starts using it. */
  persistJoin(joined: MeshMembership): void
  /** Persists mesh key epochs learned from the roster (after a removal). */
  persistMeshKeys(keys: MeshKey[]): void
  /** Where this node keeps its election term and vote (durable before it answers). */
  termStore: TermStore
  /** Randomness for election timeouts. */
  random?: () => number
  /** Keeps the invitations this machine made across restarts; in memory only without one. */
  invitationStore?: InvitationStore
}

export interface MeshOptions {
  listen: string[]
  agentVersion?: string
  /** LAN discovery: members found by mDNS are dialled at the addresses they announce. */
  mdns?: boolean
  /** How often round-trip times to connected peers are measured; default 5 s. */
  pingIntervalMs?: number
  /** How soon a silent member connection is declared dead and closed (failure-detector.ts). */
  failureDetector?: FailureDetectorOptions
  rosterPushDelayMs?: number
  reconnect?: ReconnectOptions
  pairing?: InviterOptions
  /** This machine's leadership priority: a reachable machine of higher priority leads. */
  priority?: number
  /** 'witness': this machine joins meshes as a witness, which votes but never leads (default 'member'). */
  role?: 'member' | 'witness'
  election?: ElectionOptions
  /** Limits on inbound handshakes and on connections of peers outside the roster (admission.ts). */
  admission?: AdmissionOptions
}

export interface MeshStatus {
  member: boolean
  /** This machine is the mesh's witness: it votes but never leads and holds no agent state. */
  witness: boolean
  removed: boolean
  meshId: string | null
  agent: { name: string; publicKey: string } | null
  self: string
  members: number
  witnesses: number
  connected: number
  pendingInvitations: number
  meshKeyEpoch: number
}

export interface JoinSummary {
  mesh: string
  inviter: string
  sas: string
  members: RosterMember[]
}

export interface Mesh {
  readonly peerId: string
  readonly host: MeshHost
  start(): Promise<void>
  stop(): Promise<void>
  status(): MeshStatus
  peers(): PeerView[]
  roster(): Roster | null
  /** A single-use invitation for a machine, or for a witness. */
  invite(ttlMs: number, role?: 'member' | 'witness'): Invitation
  join(token: string, options?: { signal?: AbortSignal }): Promise<JoinSummary>
  remove(query: string): Promise<RosterMember>
  leave(): Promise<void>
  /** Serves a protocol to members only; streams from anyone else are reset. */
  handle(protocol: string, handler: StreamHandler, options?: { maxInboundStreams?: number }): Promise<void>
  /** Opens a stream to a connected member (never to a witness). */
  openStream(peerId: string, protocol: string, options?: { signal?: AbortSignal }): Promise<Stream>
  connectedMembers(): string[]
  /** Fires when a connection to a member opens (once per connection) or the last one closes. */
  on(event: 'member:connect' | 'member:disconnect', fn: (e: { peerId: string }) => void): () => void
  /** The mesh key epochs this machine holds, oldest first. */
  meshKeys(): MeshKey[]
  on(event: 'keys:change', fn: (e: { keys: MeshKey[] }) => void): () => void
  /** Who leads, in which term, in which mode. */
  leader(): LeaderInfo
  /** Throws LEASE_TERM_STALE unless this node leads in `term` with an unexpired lease. */
  fence(term: number): void
  /** Subscribes to acquiring leadership (with an AbortSignal that fires on loss) and to losing it. */
  onLease(event: 'lease:acquired', fn: (e: { term: number; signal: AbortSignal }) => void): () => void
  onLease(event: 'lease:lost', fn: (e: { term: number; reason: string }) => void): () => void
  /** If this node leads, hands leadership to the best reachable member at once. */
  handOff(): Promise<void>
  /** Election frames and bytes this node has sent, and the election input it refused, by code. */
  electionTraffic(): { messages: number; bytes: number; refused: Record<string, number> }
  /**
   * Fault hook for the fault suite: drop all traffic with these peers until called again with
   * another list; [] heals. New connections are refused; open ones are closed, or with
   * `silent` kept open and silenced both ways as a cut link leaves them (link-fault.ts), so
   * the failure detector must notice. Never used in normal operation.
   */
  partition(peers: string[], options?: { silent?: boolean }): Promise<void>
}
