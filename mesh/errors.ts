/** Typed errors of the mesh concern. Codes are API: never renamed. */

export class MeshError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
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

/** Pairing failed for a reason the inviter reported (its code is kept). */
export class PairingRefusedError extends MeshError {
  readonly remoteCode: string
  constructor(remoteCode: string, message: string) {
    super('PAIRING_REFUSED', `the inviter refused: ${message} [${remoteCode}]`)
    this.remoteCode = remoteCode
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
