/**
 * Both sides of pairing over libp2p. The inviter holds pending invitations (single-use,
 * expiring), rate-limits attempts per peer, checks the joiner's proof, adds it to the roster
 * and answers with its own proof and the welcome box; every refusal is answered with a
 * JOIN_REJECT frame (the joiner must be able to read why) and logged with its code.
 * An invitation is for a machine (added as a member, welcomed with the agent seed and mesh
 * keys) or for a witness (added as a witness, welcomed with the agent's public key only);
 * the inviter's own pending record decides which, never the joiner. With a store, open and
 * recently used invitations survive a restart (single use included); no secret is stored.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import {
  domainSeparated,
  fromHex,
  generateSeed,
  hmacSha256,
  keyPairFromSeed,
  openSealed,
  sealTo,
  toHex,
  x25519PublicFromEd25519,
  type MeshKey,
} from '../identity/index.js'
import type { Clock } from '../runtime/index.js'
import {
  MeshError,
  PairingAlreadyMemberError,
  PairingInvitationExpiredError,
  PairingInvitationUnknownError,
  PairingInvitationUsedError,
  PairingPeerMismatchError,
  PairingRateLimitedError,
  PairingRoleMismatchError,
} from './errors.js'
import { frameStream } from './frame-stream.js'
import type { MeshLibp2p } from './host.js'
import { createInvitation, readInvitation, type Invitation, type InvitationRole } from './invitation.js'
import type { Logger } from '../runtime/index.js'
import {
  MAX_PAIRING_FRAME,
  PAIRING_PROTOCOL,
  acceptProof,
  checkProof,
  decodePairingMessage,
  decodeWelcome,
  encodePairingMessage,
  encodeWelcome,
  joinProof,
  pairingTranscript,
  type Welcome,
} from './pairing-protocol.js'
import { createRateLimiter } from './rate-limit.js'
import type { Roster } from './roster.js'
import { machinePeerId, meshIdFromAgentKey } from './roster-events.js'
import { welcomeGenesis } from './roster-genesis.js'

export interface Membership {
  roster: Roster
  agentName: string
  agentSeed: Uint8Array
  meshKeys(): MeshKey[]
}

/**
 * What the inviter keeps of one invitation so that it outlives a restart. The secret is not
 * in it: it is derived again from the machine key and `nonce` (see inviteSecret), so the
 * record may sit on disk unsealed.
 */
export interface InvitationRecord {
  /** 32 random bytes, lowercase hex. */
  nonce: string
  meshId: string
  addresses: string[]
  role: InvitationRole
  issuedAt: number
  expiresAt: number
  used: boolean
}

/** Persistence port for the inviter's invitations; `save` replaces all and is durable before it returns. */
export interface InvitationStore {
  load(): InvitationRecord[]
  save(records: InvitationRecord[]): void
}

export interface InviterDeps {
  clock: Clock
  logger: Logger
  machineSeed: Uint8Array
  membership(): Membership | null
  addresses(): string[]
  onJoined(event: { peerId: string; name: string; sas: string; role: InvitationRole }): void
  /** Where open and recently used invitations are kept across restarts; in memory only without one. */
  store?: InvitationStore
}

const INVITE_SECRET_CONTEXT = 'instar/invite-secret/v1'

/** An invitation's one-time secret: HMAC of the nonce under the machine key, so only this machine can make it again. */
export function inviteSecret(machineSeed: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hmacSha256(machineSeed, domainSeparated(INVITE_SECRET_CONTEXT, nonce))
}

export interface InviterOptions {
  maxAttemptsPerPeer?: number
  attemptWindowMs?: number
  readTimeoutMs?: number
  /**
   * How long a used or expired invitation is remembered, so that a replay or a late use gets
   * a readable refusal (USED, EXPIRED) instead of a bare refused connection.
   */
  rememberMs?: number
}

export interface PendingInvitationView {
  inviteId: string
  expiresAt: number
  sas: string
  role: InvitationRole
}

export interface Inviter {
  invite(ttlMs: number, role?: InvitationRole): Invitation
  /** Whether an unknown peer may connect to pair: an invitation is open or recently closed. */
  acceptsPairing(): boolean
  pending(): PendingInvitationView[]
  handle(stream: Stream, connection: Connection): Promise<void>
}

export function createInviter(deps: InviterDeps, options: InviterOptions = {}): Inviter {
  const { clock, logger } = deps
  const machine = keyPairFromSeed(deps.machineSeed)
  const selfPeerId = machinePeerId(machine.publicKey)
  const pending = new Map<string, { invitation: Invitation; used: boolean; nonce: string }>()
  const limiter = createRateLimiter({ max: options.maxAttemptsPerPeer ?? 5, windowMs: options.attemptWindowMs ?? 60_000 })
  const readTimeoutMs = options.readTimeoutMs ?? 10_000
  const rememberMs = options.rememberMs ?? 60 * 60_000

  const persist = (): void => {
    deps.store?.save(
      [...pending.values()].map(({ invitation: i, used, nonce }) => ({
        nonce,
        meshId: i.meshId,
        addresses: [...i.addresses],
        role: i.role,
        issuedAt: i.issuedAt,
        expiresAt: i.expiresAt,
        used,
      })),
    )
  }
  const remake = (record: InvitationRecord): Invitation =>
    createInvitation(deps.machineSeed, {
      meshId: record.meshId,
      inviterPeerId: selfPeerId,
      addresses: record.addresses,
      now: record.issuedAt,
      ttlMs: record.expiresAt - record.issuedAt,
      role: record.role,
      secret: inviteSecret(deps.machineSeed, fromHex(record.nonce)),
    })
  for (const record of deps.store?.load() ?? []) {
    try {
      const invitation = remake(record)
      pending.set(invitation.inviteId, { invitation, used: record.used, nonce: record.nonce })
    } catch (err) {
      logger.warn({ code: (err as { code?: string }).code ?? 'PAIRING_INVITATION_MALFORMED' }, 'a kept invitation could not be restored; it is dropped')
    }
  }

  const prune = (now: number): void => {
    let dropped = false
    for (const [id, entry] of pending) {
      if (entry.invitation.expiresAt + rememberMs <= now) {
        pending.delete(id)
        dropped = true
      }
    }
    if (dropped) persist()
  }
  const open = (now: number) => [...pending.values()].filter((e) => !e.used && e.invitation.expiresAt > now)

  const accept = (peerId: string, frame: Uint8Array): Uint8Array => {
    const now = clock.now()
    const wait = limiter.attempt(peerId, now)
    if (wait > 0) throw new PairingRateLimitedError(wait)
    const message = decodePairingMessage(frame)
    if (message.type !== 'join-request') throw new MeshError('PAIRING_FRAME_MALFORMED', 'malformed pairing frame: expected a join request')
    const member = deps.membership()
    if (member === null) throw new PairingInvitationUnknownError()
    const entry = pending.get(message.inviteId)
    if (entry === undefined) throw new PairingInvitationUnknownError()
    if (entry.used) throw new PairingInvitationUsedError()
    if (entry.invitation.expiresAt <= now) throw new PairingInvitationExpiredError(entry.invitation.expiresAt)
    if (machinePeerId(message.joiner.publicKey) !== peerId) {
      throw new PairingPeerMismatchError('the joiner\'s key is not the key of the connected peer')
    }
    if (member.roster.wasRemoved(peerId)) throw new MeshError('PAIRING_PEER_REMOVED', 'this machine was removed from the mesh and cannot rejoin with the same key; run "instar init --force" on it')
    if (member.roster.isMember(peerId)) throw new PairingAlreadyMemberError('this machine is already a member of the mesh')
    if (member.roster.isWitness(peerId)) throw new PairingAlreadyMemberError('this machine is already a witness of the mesh')
    const { invitation } = entry
    const transcript = pairingTranscript({
      inviteId: invitation.inviteId,
      meshId: invitation.meshId,
      inviterPublicKey: machine.publicKey,
      joinerPublicKey: message.joiner.publicKey,
      nonce: message.nonce,
    })
    checkProof(joinProof(invitation.secret, transcript), message.proof, 'joiner')
    // Used, durably, before anything is granted: a crash after this cannot let it be used twice.
    entry.used = true
    try {
      persist()
    } catch (err) {
      entry.used = false
      throw new MeshError('PAIRING_STORE_FAILED', 'the invitation could not be marked as used on disk; try again', { cause: err })
    }
    const subject = { publicKey: message.joiner.publicKey, name: message.joiner.name }
    let welcome: Welcome
    if (invitation.role === 'witness') {
      member.roster.addWitness(deps.machineSeed, subject, now)
      welcome = {
        role: 'witness',
        meshId: invitation.meshId,
        agent: { name: member.agentName, publicKey: keyPairFromSeed(member.agentSeed).publicKey },
        roster: member.roster.encodeState(),
      }
    } else {
      member.roster.add(deps.machineSeed, subject, now)
      welcome = {
        role: 'member',
        meshId: invitation.meshId,
        agent: { name: member.agentName, seed: member.agentSeed },
        meshKeys: member.meshKeys().map((k) => ({ epoch: k.epoch, key: k.key })),
        roster: member.roster.encodeState(),
      }
    }
    const box = sealTo(x25519PublicFromEd25519(message.joiner.publicKey), encodeWelcome(welcome), transcript)
    deps.onJoined({ peerId, name: message.joiner.name, sas: invitation.sas, role: invitation.role })
    logger.info({ peerId, name: message.joiner.name, role: invitation.role }, `${invitation.role === 'witness' ? 'witness' : 'machine'} joined the mesh by invitation`)
    return encodePairingMessage({ type: 'join-accept', proof: acceptProof(invitation.secret, transcript), welcome: box })
  }

  return {
    invite(ttlMs, role = 'member') {
      const member = deps.membership()
      if (member === null) throw new MeshError('MESH_NOT_MEMBER', 'this machine is not in a mesh yet; found one with "instar init --agent NAME" or join one')
      const now = clock.now()
      prune(now)
      const nonce = generateSeed()
      const invitation = createInvitation(deps.machineSeed, {
        meshId: member.roster.meshId,
        inviterPeerId: selfPeerId,
        addresses: deps.addresses().slice(0, 16),
        now,
        ttlMs,
        role,
        secret: inviteSecret(deps.machineSeed, nonce),
      })
      pending.set(invitation.inviteId, { invitation, used: false, nonce: toHex(nonce) })
      try {
        persist()
      } catch (err) {
        pending.delete(invitation.inviteId)
        throw new MeshError('PAIRING_STORE_FAILED', 'the invitation could not be kept on disk, so it was not made', { cause: err })
      }
      return invitation
    },
    acceptsPairing() {
      prune(clock.now())
      return pending.size > 0
    },
    pending() {
      return open(clock.now()).map((e) => ({
        inviteId: e.invitation.inviteId,
        expiresAt: e.invitation.expiresAt,
        sas: e.invitation.sas,
        role: e.invitation.role,
      }))
    },
    async handle(stream, connection) {
      const peerId = connection.remotePeer.toString()
      const frames = frameStream(stream, MAX_PAIRING_FRAME)
      let reply: Uint8Array
      try {
        const frame = await frames.read({ signal: clock.timeoutSignal(readTimeoutMs) })
        reply = accept(peerId, frame)
      } catch (err) {
        // Our refusals carry their own code and sentence; anything else (a stream that died
        // mid-read) is logged with its code and answered generically.
        const ours = err instanceof MeshError
        const code = ours ? err.code : 'PAIRING_FAILED'
        logger.warn({ code, cause: ours ? undefined : (err as { code?: string }).code, peerId }, 'pairing refused')
        const message = ours ? err.message : 'the pairing request could not be read'
        reply = encodePairingMessage({ type: 'join-reject', code, message: message.slice(0, 500) })
      }
      try {
        await frames.write(reply)
        await frames.close()
      } catch (err) {
        logger.warn({ code: 'PAIRING_REPLY_FAILED', peerId, err }, 'could not send the pairing reply')
      }
    },
  }
}

export interface JoinDeps {
  clock: Clock
  libp2p: MeshLibp2p
  machineSeed: Uint8Array
  /** Lets the gater admit the outbound connection to the inviter while joining. */
  setJoining(peerId: string | null): void
}

export interface JoinResult {
  invitation: Invitation
  welcome: Welcome
  agentPublicKey: Uint8Array
}

/**
 * Joins the mesh an invitation names, as a member or (role "witness") as a witness; throws
 * PairingRoleMismatchError before dialling when the invitation is for the other kind, and the
 * inviter's refusal code when it refuses.
 */
export async function joinMesh(
  deps: JoinDeps,
  token: string,
  joiner: { name: string; addresses: string[] },
  options: { timeoutMs?: number; signal?: AbortSignal; role?: InvitationRole } = {},
): Promise<JoinResult> {
  const role = options.role ?? 'member'
  const invitation = readInvitation(token, deps.clock.now())
  if (invitation.role !== role) throw new PairingRoleMismatchError(invitation.role)
  const machine = keyPairFromSeed(deps.machineSeed)
  if (invitation.inviterPeerId === machinePeerId(machine.publicKey)) {
    throw new PairingAlreadyMemberError('this invitation was made by this very machine; run "instar mesh pair <invitation>" on the new machine')
  }
  const signal = deps.clock.timeoutSignal(options.timeoutMs ?? 15_000, options.signal === undefined ? {} : { signal: options.signal })
  const nonce = generateSeed()
  const transcript = pairingTranscript({
    inviteId: invitation.inviteId,
    meshId: invitation.meshId,
    inviterPublicKey: invitation.inviterPublicKey,
    joinerPublicKey: machine.publicKey,
    nonce,
  })
  deps.setJoining(invitation.inviterPeerId)
  let replyFrame: Uint8Array
  try {
    let stream: Stream
    try {
      const targets = invitation.addresses.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${invitation.inviterPeerId}`))
      stream = await deps.libp2p.dialProtocol(targets, PAIRING_PROTOCOL, { signal })
    } catch (err) {
      throw new MeshError(
        'PAIRING_INVITER_UNREACHABLE',
        `the inviter at ${invitation.addresses.join(', ') || '(no addresses)'} did not accept a pairing connection: its node is not running or not reachable from here, or it holds no open invitation (they are single-use and expire)`,
        { cause: err },
      )
    }
    const frames = frameStream(stream, MAX_PAIRING_FRAME)
    await frames.write(
      encodePairingMessage({
        type: 'join-request',
        inviteId: invitation.inviteId,
        joiner: { publicKey: machine.publicKey, name: joiner.name, addresses: joiner.addresses.slice(0, 16) },
        nonce,
        proof: joinProof(invitation.secret, transcript),
      }),
      { signal },
    )
    try {
      replyFrame = await frames.read({ signal })
    } catch (err) {
      throw new MeshError('PAIRING_NO_ANSWER', 'the inviter closed the pairing stream without an answer', { cause: err })
    }
    await frames.close()
  } finally {
    deps.setJoining(null)
  }
  const reply = decodePairingMessage(replyFrame)
  if (reply.type === 'join-reject') throw new MeshError(reply.code, `the inviter refused: ${reply.message}`)
  if (reply.type !== 'join-accept') throw new MeshError('PAIRING_FRAME_MALFORMED', 'malformed pairing frame: expected an accept or a reject')
  checkProof(acceptProof(invitation.secret, transcript), reply.proof, 'inviter')
  let welcome: Welcome
  try {
    welcome = decodeWelcome(openSealed(machine.x25519SecretKey, reply.welcome, transcript), role)
  } catch (err) {
    if (err instanceof MeshError) throw err
    throw new MeshError('PAIRING_WELCOME_INVALID', 'the inviter\'s welcome box could not be opened', { cause: err })
  }
  const agentPublicKey = welcome.role === 'witness' ? welcome.agent.publicKey : keyPairFromSeed(welcome.agent.seed).publicKey
  if (welcome.meshId !== invitation.meshId || meshIdFromAgentKey(agentPublicKey) !== invitation.meshId) {
    throw new MeshError('PAIRING_WELCOME_INVALID', 'the welcome names another mesh than the invitation')
  }
  // The genesis this machine will pin: the welcome's roster must hold exactly one.
  try {
    welcomeGenesis(welcome.roster, toHex(agentPublicKey), invitation.meshId)
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ROSTER_EVENT_INVALID'
    throw new MeshError('PAIRING_WELCOME_INVALID', `the welcome's roster cannot found this machine's roster [${code}]: ${(err as Error).message}`, { cause: err })
  }
  return { invitation, welcome, agentPublicKey }
}
