/**
 * The inviter's side of pairing over libp2p. It holds pending invitations (single-use,
 * expiring), rate-limits attempts per peer, checks the joiner's proof, adds it to the roster
 * and answers with its own proof and the welcome box; every refusal is answered with a
 * JOIN_REJECT frame (the joiner must be able to read why) and logged with its code.
 * An invitation is for a machine (added as a member, welcomed with the agent seed and mesh
 * keys) or for a witness (added as a witness, welcomed with the agent's public key only);
 * the inviter's own pending record decides which, never the joiner. With a store, open and
 * recently used invitations survive a restart (single use included); no secret is stored.
 */
import type { Connection, Stream } from '@libp2p/interface'
import {
  domainSeparated,
  fromHex,
  generateSeed,
  hmacSha256,
  keyPairFromSeed,
  sealTo,
  toHex,
  x25519PublicFromEd25519,
  type MeshKey,
} from '../identity/index.js'
import type { Clock, Logger } from '../runtime/index.js'
import {
  MeshError,
  MeshNotMemberError,
  PairingAlreadyMemberError,
  PairingFailedError,
  PairingFrameMalformedError,
  PairingInvitationExpiredError,
  PairingInvitationUnknownError,
  PairingInvitationUsedError,
  PairingPeerMismatchError,
  PairingPeerRemovedError,
  PairingRateLimitedError,
  PairingStoreFailedError,
} from './errors.js'
import { frameStream } from './frame-stream.js'
import { createInvitation, type Invitation, type InvitationRole } from './invitation.js'
import { MAX_PAIRING_FRAME, decodePairingMessage, encodePairingMessage } from './pairing-protocol.js'
import { acceptProof, checkProof, joinProof, pairingTranscript } from './pairing-transcript.js'
import { encodeWelcome, type Welcome } from './pairing-welcome.js'
import { createRateLimiter } from './rate-limit.js'
import type { Roster } from './roster.js'
import { machinePeerId } from './roster-events.js'

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
    if (message.type !== 'join-request') throw new PairingFrameMalformedError('expected a join request')
    const member = deps.membership()
    if (member === null) throw new PairingInvitationUnknownError()
    const entry = pending.get(message.inviteId)
    if (entry === undefined) throw new PairingInvitationUnknownError()
    if (entry.used) throw new PairingInvitationUsedError()
    if (entry.invitation.expiresAt <= now) throw new PairingInvitationExpiredError(entry.invitation.expiresAt)
    if (machinePeerId(message.joiner.publicKey) !== peerId) {
      throw new PairingPeerMismatchError('the joiner\'s key is not the key of the connected peer')
    }
    if (member.roster.wasRemoved(peerId)) throw new PairingPeerRemovedError(peerId)
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
      throw new PairingStoreFailedError('the invitation could not be marked as used on disk; try again', { cause: err })
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
    logger.info({ peerId, name: message.joiner.name, role: invitation.role }, `${invitation.role === 'witness' ? 'witness' : 'machine'} joined the mesh by invitation`)
    return encodePairingMessage({ type: 'join-accept', proof: acceptProof(invitation.secret, transcript), welcome: box })
  }

  return {
    invite(ttlMs, role = 'member') {
      const member = deps.membership()
      if (member === null) throw new MeshNotMemberError('this machine is not in a mesh yet; found one with "instar init --agent NAME" or join one')
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
        throw new PairingStoreFailedError('the invitation could not be kept on disk, so it was not made', { cause: err })
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
        const refusal = ours ? err : new PairingFailedError({ cause: err })
        logger.warn({ code: refusal.code, cause: ours ? undefined : (err as { code?: string }).code, peerId }, 'pairing refused')
        reply = encodePairingMessage({ type: 'join-reject', code: refusal.code, message: refusal.message.slice(0, 500) })
      }
      try {
        await frames.write(reply)
        await frames.close()
        // The joiner closes its end once it has read the answer; a refused stranger is hung up
        // on right after this (protocol-guard.ts), which must not cut the answer off.
        await frames.remoteClosed({ signal: clock.timeoutSignal(Math.min(readTimeoutMs, 5000)) })
      } catch (err) {
        logger.warn({ code: 'PAIRING_REPLY_FAILED', peerId, err }, 'could not send the pairing reply')
      }
    },
  }
}
