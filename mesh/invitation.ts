/**
 * Invitations: what `instar mesh pair` prints and `instar mesh pair <invitation>` reads.
 *
 *   token   = signToken(inviter machine seed, payload,
 *                       { kind: "instar-invitation", issuedAt: now, expiresAt: now + ttl })
 *   payload = { mesh: mesh id, peer: inviter peer id, addrs: inviter multiaddrs,
 *               secret: base64url of 32 random bytes, role?: "witness" }
 *
 * `role` says who the invitation is for. Absent, it invites a machine that becomes a member
 * (and so reads tokens made before witnesses existed exactly as before); "witness" invites a
 * witness, which votes in elections but never leads and receives no agent seed or mesh key.
 * Any other value is refused. The inviter keeps the role of each pending invitation itself, so
 * what the joiner is welcomed as never rests on what the joiner claims.
 *
 * One line of url-safe characters after `instar1.`, which still reads back after a chat app
 * wraps it or pads it with spaces. The signer key must be the key of `peer`, so whoever
 * holds the invitation knows which machine to dial and can check, through Noise, that it
 * reached that machine. The secret is never sent: pairing proves knowledge of it with
 * HMACs over the transcript, and names the invitation by inviteIdOf(secret).
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { z } from 'zod'
import {
  domainSeparated,
  fromBase64Url,
  keyPairFromSeed,
  shortAuthString,
  signToken,
  toBase64Url,
  toHex,
  TOKEN_PREFIX,
  TokenExpiredError,
  TokenMalformedError,
  TokenSignatureInvalidError,
  TokenSignerMismatchError,
  verifyToken,
} from '../identity/index.js'
import type { TokenMalformedReason, VerifiedToken } from '../identity/index.js'
import {
  PairingInvitationExpiredError,
  PairingInvitationForgedError,
  PairingInvitationMalformedError,
  PairingPeerMismatchError,
} from './errors.js'
import { addressListSchema, meshIdSchema } from './pairing-fields.js'

export const INVITATION_KIND = 'instar-invitation'
export const MIN_INVITATION_TTL_MS = 60 * 1000
export const MAX_INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000
/** Largest decoded token: 16 addresses of 256 ASCII characters fit with room to spare. */
const INVITATION_MAX_BYTES = 12 * 1024
const SECRET_LENGTH = 32

const INVITE_ID_CONTEXT = 'instar/invite-id/v1'
const SAS_CONTEXT = 'instar/pair-sas/v1'

export type InvitationRole = 'member' | 'witness'

export interface Invitation {
  meshId: string
  inviterPeerId: string
  /** The inviter's Ed25519 machine key, which signed the token. */
  inviterPublicKey: Uint8Array
  addresses: string[]
  /** 32 bytes; never sent over the wire. */
  secret: Uint8Array
  inviteId: string
  issuedAt: number
  expiresAt: number
  /** Six digits as "123 456", shown on both machines. */
  sas: string
  /** One line, `instar1.` and base64url. */
  token: string
  /** Who the invitation is for: a machine that becomes a member, or a witness. */
  role: InvitationRole
}

const payloadSchema = z.strictObject({
  mesh: meshIdSchema,
  peer: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  addrs: addressListSchema,
  secret: z
    .string()
    .max(64, `must be ${SECRET_LENGTH} bytes`)
    .transform((text, ctx) => {
      let bytes: Uint8Array
      try {
        bytes = fromBase64Url(text)
      } catch {
        ctx.issues.push({ code: 'custom', message: 'is not unpadded base64url', input: text })
        return z.NEVER
      }
      if (bytes.length !== SECRET_LENGTH) {
        ctx.issues.push({ code: 'custom', message: `must be ${SECRET_LENGTH} bytes`, input: text })
        return z.NEVER
      }
      return bytes
    }),
  role: z.literal('witness', { error: 'must be "witness" or absent' }).optional(),
})

export function createInvitation(
  inviterSeed: Uint8Array,
  opts: {
    meshId: string
    inviterPeerId: string
    addresses: string[]
    now: number
    ttlMs: number
    secret?: Uint8Array
    role?: InvitationRole
  },
): Invitation {
  const { meshId, inviterPeerId, addresses, now, ttlMs } = opts
  const role = opts.role ?? 'member'
  if (role !== 'member' && role !== 'witness') throw new PairingInvitationMalformedError('role must be "member" or "witness"')
  if (!Number.isSafeInteger(now) || now < 0) throw new PairingInvitationMalformedError('now is not integer milliseconds')
  if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_INVITATION_TTL_MS || ttlMs > MAX_INVITATION_TTL_MS) {
    throw new PairingInvitationMalformedError('ttl out of range')
  }
  const secret = opts.secret ?? randomBytes(SECRET_LENGTH)
  assertSecret(secret)
  // A member invitation carries no role field, so it reads the same to a node of any version.
  const payload = {
    mesh: meshId,
    peer: inviterPeerId,
    addrs: [...addresses],
    secret: toBase64Url(secret),
    ...(role === 'witness' ? { role } : {}),
  }
  const checked = payloadSchema.safeParse(payload)
  if (!checked.success) throw new PairingInvitationMalformedError(describeIssue(checked.error))
  const { publicKey } = keyPairFromSeed(inviterSeed)
  if (peerIdOfPublicKey(publicKey) !== inviterPeerId) {
    throw new PairingPeerMismatchError('inviterPeerId is not the peer id of the inviter seed')
  }
  const expiresAt = now + ttlMs
  const token = signToken(inviterSeed, payload, { kind: INVITATION_KIND, issuedAt: now, expiresAt })
  return {
    meshId,
    inviterPeerId,
    inviterPublicKey: publicKey,
    addresses: payload.addrs,
    secret: Uint8Array.from(secret),
    inviteId: inviteIdOf(secret),
    issuedAt: now,
    expiresAt,
    sas: invitationSas(secret, publicKey, meshId),
    token,
    role,
  }
}

/**
 * Throws PairingInvitationMalformedError (with a reason a person can act on),
 * PairingInvitationForgedError or PairingInvitationExpiredError.
 */
export function readInvitation(token: string, now: number): Invitation {
  if (typeof token !== 'string') throw new PairingInvitationMalformedError('it is not text')
  let verified: VerifiedToken
  try {
    verified = verifyToken(token, { now, kind: INVITATION_KIND, maxBytes: INVITATION_MAX_BYTES })
  } catch (err) {
    if (err instanceof TokenMalformedError) {
      throw new PairingInvitationMalformedError(malformedReason(err.reason, token), { cause: err })
    }
    if (err instanceof TokenSignatureInvalidError || err instanceof TokenSignerMismatchError) {
      throw new PairingInvitationForgedError({ cause: err })
    }
    if (err instanceof TokenExpiredError) throw new PairingInvitationExpiredError(err.expiresAt)
    throw err
  }
  const { signer, issuedAt, expiresAt } = verified
  if (expiresAt - issuedAt < MIN_INVITATION_TTL_MS || expiresAt - issuedAt > MAX_INVITATION_TTL_MS) {
    throw new PairingInvitationMalformedError('its lifetime is out of range (ttl out of range)')
  }
  const parsed = payloadSchema.safeParse(verified.payload)
  if (!parsed.success) {
    throw new PairingInvitationMalformedError(`its contents are not an invitation (${describeIssue(parsed.error)})`)
  }
  const payload = parsed.data
  const secret = payload.secret
  let signerPeerId: string
  try {
    signerPeerId = peerIdOfPublicKey(signer)
  } catch (cause) {
    throw new PairingInvitationForgedError({ cause })
  }
  // Anyone can sign a token; only the named machine's own key makes it an invitation from it.
  if (signerPeerId !== payload.peer) throw new PairingInvitationForgedError()
  return {
    meshId: payload.mesh,
    inviterPeerId: payload.peer,
    inviterPublicKey: signer,
    addresses: payload.addrs,
    secret,
    inviteId: inviteIdOf(secret),
    issuedAt,
    expiresAt,
    sas: invitationSas(secret, signer, payload.mesh),
    token: token.replace(/\s+/g, ''),
    role: payload.role ?? 'member',
  }
}

/** Names a pending invitation on the wire: hex of the first 16 bytes of a hash of the secret. */
export function inviteIdOf(secret: Uint8Array): string {
  assertSecret(secret)
  return toHex(sha256(domainSeparated(INVITE_ID_CONTEXT, secret)).subarray(0, 16))
}

/** The short authentication string both machines show for this invitation. */
export function invitationSas(secret: Uint8Array, inviterPublicKey: Uint8Array, meshId: string): string {
  assertSecret(secret)
  return shortAuthString(domainSeparated(SAS_CONTEXT, secret, inviterPublicKey, new TextEncoder().encode(meshId)))
}

/** The libp2p peer id (text form) of a raw 32-byte Ed25519 public key. */
export function peerIdOfPublicKey(publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

function assertSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) {
    throw new PairingInvitationMalformedError(`the secret must be ${SECRET_LENGTH} bytes`)
  }
}

function malformedReason(reason: TokenMalformedReason, token: string): string {
  switch (reason) {
    case 'bad prefix':
    case 'wrong kind':
      return 'it is not an instar invitation'
    case 'truncated':
      return 'it is cut short'
    case 'bad base64':
      // Only url-safe characters, yet not base64url: its length or last character is off.
      return /^[A-Za-z0-9_-]*$/.test(token.replace(/\s+/g, '').slice(TOKEN_PREFIX.length))
        ? 'it is cut short or altered'
        : 'it holds characters that are not part of an invitation'
    case 'too large':
      return 'it is too large to be an invitation'
    case 'trailing bytes':
      return 'it has extra characters at the end'
    case 'unsupported version':
      return 'it was made by an incompatible version of instar'
    case 'bad json':
    case 'bad fields':
      return 'its contents are not an invitation'
  }
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid'
  const path = issue.path.map(String).join('.') || 'payload'
  return `${path}: ${issue.message}`
}
