/** Typed errors of the mesh concern. Codes are API: never renamed. */
import type { ElectionErrorCode } from './election-errors.js'

/** The codes of election-errors.ts, listed here so that MESH_ERROR_CODES holds them all. */
const ELECTION_ERROR_CODES = [
  'LEASE_TERM_STALE',
  'ELECTION_FRAME_MALFORMED',
  'ELECTION_WITNESS_CANNOT_LEAD',
  'ELECTION_WITNESS_TERM_REFUSED',
  'ELECTION_TERM_EXHAUSTED',
  'ELECTION_TERM_REPAIRED',
  'ELECTION_CONFIG_REPAIRED',
  'ELECTION_DELIVERY_FAILED',
] as const satisfies readonly ElectionErrorCode[]
/** Fails to compile when ElectionErrorCode gains a code the list above lacks. */
const electionCodesListed: [Exclude<ElectionErrorCode, (typeof ELECTION_ERROR_CODES)[number]>] extends [never] ? true : never = true
void electionCodesListed

/** Every code a mesh error carries (election, pairing, roster, host). */
export const MESH_ERROR_CODES = [
  'MESH_LISTEN_FAILED',
  'MESH_ADDRESS_INVALID',
  'MESH_PEER_UNRESPONSIVE',
  'MESH_NOT_MEMBER',
  'MESH_PEER_NOT_CONNECTED',
  'MESH_ROLE_MISMATCH',
  'PAIRING_FRAME_MALFORMED',
  'PAIRING_VERSION_UNSUPPORTED',
  'PAIRING_INVITATION_MALFORMED',
  'PAIRING_INVITATION_FORGED',
  'PAIRING_INVITATION_EXPIRED',
  'PAIRING_INVITATION_USED',
  'PAIRING_INVITATION_UNKNOWN',
  'PAIRING_PROOF_INVALID',
  'PAIRING_PEER_MISMATCH',
  'PAIRING_PEER_REMOVED',
  'PAIRING_RATE_LIMITED',
  'PAIRING_REFUSED',
  'PAIRING_ALREADY_MEMBER',
  'PAIRING_ROLE_MISMATCH',
  'PAIRING_STORE_FAILED',
  'PAIRING_FAILED',
  'PAIRING_INVITER_UNREACHABLE',
  'PAIRING_NO_ANSWER',
  'PAIRING_WELCOME_INVALID',
  'ROSTER_FRAME_MALFORMED',
  'ROSTER_EVENT_INVALID',
  'ROSTER_UPDATE_TOO_COSTLY',
  'ROSTER_NOT_MEMBER',
  'ROSTER_MEMBER_NOT_FOUND',
  'ROSTER_GENESIS_FOREIGN',
  'ROSTER_GENESIS_MISSING',
  'ROSTER_SIGNER_REMOVED',
  ...ELECTION_ERROR_CODES,
] as const
export type MeshErrorCode = (typeof MESH_ERROR_CODES)[number]

/** The base of every mesh error; only its subclasses are built, one per code. */
export abstract class MeshError extends Error {
  readonly code: MeshErrorCode
  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A listen address could not be bound (port in use, bad interface, bad multiaddr). */
export class MeshListenError extends MeshError {
  readonly addresses: string[]
  constructor(addresses: string[], reason: string, options?: { cause?: unknown }) {
    super('MESH_LISTEN_FAILED', `cannot listen on ${addresses.join(', ')}: ${reason}`, options)
    this.addresses = addresses
  }
}

/** A listen or dial address is not a valid multiaddr. */
export class MeshAddressInvalidError extends MeshError {
  readonly address: string
  constructor(address: string, options?: { cause?: unknown }) {
    super('MESH_ADDRESS_INVALID', `"${address}" is not a valid multiaddr (example: /ip4/127.0.0.1/tcp/0)`, options)
    this.address = address
  }
}

/** A pairing frame could not be decoded (bad version, type, length, JSON or field). */
export class PairingFrameMalformedError extends MeshError {
  readonly reason: string
  constructor(reason: string, options?: { cause?: unknown }) {
    super('PAIRING_FRAME_MALFORMED', `malformed pairing frame: ${reason}`, options)
    this.reason = reason
  }
}

/** The peer speaks a pairing protocol version this node does not. */
export class PairingVersionUnsupportedError extends MeshError {
  readonly version: number
  constructor(version: number) {
    super('PAIRING_VERSION_UNSUPPORTED', `pairing protocol version ${version} is not supported (this node speaks 1)`)
    this.version = version
  }
}

/** The invitation text is not an instar invitation, or has been cut or altered. */
export class PairingInvitationMalformedError extends MeshError {
  readonly reason: string
  constructor(reason: string, options?: { cause?: unknown }) {
    super('PAIRING_INVITATION_MALFORMED', `this is not a valid invitation: ${reason}`, options)
    this.reason = reason
  }
}

/** The invitation's signature does not verify: it was forged or altered. */
export class PairingInvitationForgedError extends MeshError {
  constructor(options?: { cause?: unknown }) {
    super('PAIRING_INVITATION_FORGED', 'the invitation\'s signature does not verify: it was altered or forged', options)
  }
}

/** The invitation expired before it was used. */
export class PairingInvitationExpiredError extends MeshError {
  readonly expiresAt: number
  constructor(expiresAt: number) {
    super('PAIRING_INVITATION_EXPIRED', `the invitation expired at ${new Date(expiresAt).toISOString()}; ask for a new one`)
    this.expiresAt = expiresAt
  }
}

/** The invitation was already used (invitations are single-use). */
export class PairingInvitationUsedError extends MeshError {
  constructor() {
    super('PAIRING_INVITATION_USED', 'the invitation was already used; ask for a new one')
  }
}

/** The inviter holds no pending invitation with this id (never issued, cancelled, or lost on restart). */
export class PairingInvitationUnknownError extends MeshError {
  constructor() {
    super('PAIRING_INVITATION_UNKNOWN', 'the inviter holds no such pending invitation; ask for a new one')
  }
}

/** A pairing proof (HMAC over the transcript) did not verify. */
export class PairingProofInvalidError extends MeshError {
  readonly side: 'joiner' | 'inviter'
  constructor(side: 'joiner' | 'inviter') {
    super(
      'PAIRING_PROOF_INVALID',
      side === 'joiner'
        ? 'the joining machine could not prove it holds the invitation\'s secret'
        : 'the inviter could not prove it issued this invitation; do not trust this peer',
    )
    this.side = side
  }
}

/** The peer on the connection is not the one the message or invitation names. */
export class PairingPeerMismatchError extends MeshError {
  constructor(what: string) {
    super('PAIRING_PEER_MISMATCH', `pairing peer mismatch: ${what}`)
  }
}

/** Too many pairing attempts from one peer. */
export class PairingRateLimitedError extends MeshError {
  readonly retryAfterMs: number
  constructor(retryAfterMs: number) {
    super('PAIRING_RATE_LIMITED', `too many pairing attempts; try again in ${Math.ceil(retryAfterMs / 1000)} s`)
    this.retryAfterMs = retryAfterMs
  }
}

/**
 * The inviter answered with a refusal (a JOIN_REJECT frame). Its code is kept as
 * `remoteCode`, never taken as our own: a peer does not choose this machine's error code.
 */
export class PairingRefusedError extends MeshError {
  readonly remoteCode: string
  constructor(remoteCode: string, message: string) {
    super('PAIRING_REFUSED', `the inviter refused: ${message} [${remoteCode}]`)
    this.remoteCode = remoteCode
  }
}

/** The joiner was removed from this mesh once; the same machine key may not rejoin. */
export class PairingPeerRemovedError extends MeshError {
  readonly peerId: string
  constructor(peerId: string) {
    super('PAIRING_PEER_REMOVED', 'this machine was removed from the mesh and cannot rejoin with the same key; run "instar init --force" on it')
    this.peerId = peerId
  }
}

/** The inviter's invitation store could not be written, so the invitation was not made or not used. */
export class PairingStoreFailedError extends MeshError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('PAIRING_STORE_FAILED', what, options)
  }
}

/** A pairing request failed other than by a refusal of ours (the stream died mid-read, a local fault). */
export class PairingFailedError extends MeshError {
  constructor(options?: { cause?: unknown }) {
    super('PAIRING_FAILED', 'the pairing request could not be read', options)
  }
}

/** The inviter named by the invitation could not be reached on the pairing protocol. */
export class PairingInviterUnreachableError extends MeshError {
  readonly addresses: string[]
  constructor(addresses: string[], options?: { cause?: unknown }) {
    super(
      'PAIRING_INVITER_UNREACHABLE',
      `the inviter at ${addresses.join(', ') || '(no addresses)'} did not accept a pairing connection: its node is not running or not reachable from here, or it holds no open invitation (they are single-use and expire)`,
      options,
    )
    this.addresses = addresses
  }
}

/** The inviter closed the pairing stream without answering. */
export class PairingNoAnswerError extends MeshError {
  constructor(options?: { cause?: unknown }) {
    super('PAIRING_NO_ANSWER', 'the inviter closed the pairing stream without an answer', options)
  }
}

/** The inviter's welcome could not be opened, or names another mesh, or its roster cannot found ours. */
export class PairingWelcomeInvalidError extends MeshError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('PAIRING_WELCOME_INVALID', reason, options)
  }
}

/** This machine is not in a mesh (or, as a witness, cannot do what only a member does). */
export class MeshNotMemberError extends MeshError {
  constructor(message: string) {
    super('MESH_NOT_MEMBER', message)
  }
}

/** The peer a stream was asked for is a member but has no open connection. */
export class MeshPeerNotConnectedError extends MeshError {
  readonly peerId: string
  constructor(peerId: string) {
    super('MESH_PEER_NOT_CONNECTED', `${peerId} is not connected`)
    this.peerId = peerId
  }
}

/** The machine runs in one role (member or witness) while its keys are those of the other. */
export class MeshRoleMismatchError extends MeshError {
  constructor(role: 'member' | 'witness', keysOf: 'member' | 'witness') {
    super('MESH_ROLE_MISMATCH', `this machine runs as a ${role}, but its keys are those of a ${keysOf}`)
  }
}

/** This machine already belongs to a mesh (or to this one). */
export class PairingAlreadyMemberError extends MeshError {
  constructor(message: string) {
    super('PAIRING_ALREADY_MEMBER', message)
  }
}

/** The invitation is for the other kind of joiner (a witness invitation used by a machine, or the reverse). */
export class PairingRoleMismatchError extends MeshError {
  readonly invitationRole: 'member' | 'witness'
  constructor(invitationRole: 'member' | 'witness') {
    super(
      'PAIRING_ROLE_MISMATCH',
      invitationRole === 'witness'
        ? 'this invitation is for a witness, not a machine of the mesh: use it on the witness ("instar mesh pair <invitation> --home <witness home>"), or make a machine invitation with "instar mesh pair"'
        : 'this invitation is for a machine of the mesh, not a witness: make a witness invitation on a member with "instar mesh pair --witness"',
    )
    this.invitationRole = invitationRole
  }
}

/** A roster event failed verification (bad signature, bad id, unknown signer). */
export class RosterEventInvalidError extends MeshError {
  readonly reason: string
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ROSTER_EVENT_INVALID', `invalid roster event: ${reason}`, options)
    this.reason = reason
  }
}

/**
 * A roster update (a peer's roster frame, or a welcome's roster) would cost more to apply
 * than MAX_ROSTER_UPDATE_STEPS (a flood of concurrent items in one key): refused whole,
 * before any of it is applied.
 */
export class RosterUpdateTooCostlyError extends MeshError {
  readonly steps: number
  readonly limit: number
  constructor(steps: number, limit: number) {
    super('ROSTER_UPDATE_TOO_COSTLY', `the roster update would take about ${steps} steps to apply, over the ${limit}-step limit: refused whole`)
    this.steps = steps
    this.limit = limit
  }
}

/** A roster operation needs a signer that is a current member. */
export class RosterNotMemberError extends MeshError {
  readonly peerId: string
  constructor(peerId: string, what: string) {
    super('ROSTER_NOT_MEMBER', `${peerId} is not a member of this mesh; ${what}`)
    this.peerId = peerId
  }
}

/** No member matches the given peer id, fingerprint or name (or more than one does). */
export class RosterMemberNotFoundError extends MeshError {
  readonly query: string
  constructor(query: string, ambiguous = false) {
    super('ROSTER_MEMBER_NOT_FOUND', ambiguous ? `"${query}" names more than one member; use the peer id` : `no member matches "${query}"`)
    this.query = query
  }
}

/**
 * A roster update, a welcome or a stored roster carries a genesis other than the one this
 * machine pinned, or more than one: a mesh has exactly one genesis. The update is refused whole.
 */
export class RosterGenesisForeignError extends MeshError {
  /** The genesis that was refused. */
  readonly genesisId: string
  /** The genesis this machine pinned, if it had one. */
  readonly pinnedId: string | undefined
  constructor(genesisId: string, pinnedId: string | undefined) {
    super(
      'ROSTER_GENESIS_FOREIGN',
      pinnedId === undefined
        ? `the roster carries more than one genesis (${genesisId} among them); a mesh has exactly one`
        : `the roster carries genesis ${genesisId}, not this mesh's genesis ${pinnedId}; it is refused whole`,
    )
    this.genesisId = genesisId
    this.pinnedId = pinnedId
  }
}

/** There is no genesis to pin (a welcome whose roster holds none), or none pinned yet to check an update against. */
export class RosterGenesisMissingError extends MeshError {
  constructor(what: string) {
    super('ROSTER_GENESIS_MISSING', `no roster genesis: ${what}`)
  }
}

/** A roster entry signed by a machine that was removed from the mesh: it counts for nothing. */
export class RosterSignerRemovedError extends MeshError {
  readonly peerId: string
  constructor(peerId: string, what: string) {
    super('ROSTER_SIGNER_REMOVED', `${peerId} was removed from this mesh; ${what}`)
    this.peerId = peerId
  }
}

/** A connected member gave no sign of life (ping, election message) for too long: its connection is closed and redialled. */
export class MeshPeerUnresponsiveError extends MeshError {
  readonly peerId: string
  readonly silentMs: number
  constructor(peerId: string, silentMs: number) {
    super('MESH_PEER_UNRESPONSIVE', `${peerId} gave no sign of life for ${silentMs} ms; its connection is closed and it is dialled again`)
    this.peerId = peerId
    this.silentMs = silentMs
  }
}
