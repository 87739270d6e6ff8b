/**
 * The pairing protocol, `/instar/pair/1.0.0`: how a new machine joins a mesh with an
 * invitation. Pure encode/decode of the frames; the welcome inside JOIN_ACCEPT is
 * pairing-welcome.ts, the transcript and proofs pairing-transcript.ts. pairing-inviter.ts and
 * pairing-joiner.ts bind it to a libp2p stream through frame-stream.ts, which length-prefixes
 * each frame and refuses one longer than MAX_PAIRING_FRAME.
 *
 *   frame = version (1 byte, = 1) || type (1 byte) || UTF-8 JSON body
 *   bytes travel as unpadded base64url strings; every object is closed (unknown fields refused)
 *
 * The exchange, one request and one answer on a fresh stream:
 *
 *   1. joiner → inviter  JOIN_REQUEST (type 1)
 *        { inviteId, joiner: { publicKey, name, addresses[] }, nonce, proof }
 *      inviteId = inviteIdOf(secret) names the pending invitation without revealing it;
 *      publicKey is the joiner's Ed25519 machine key (the stream layer checks it is the key
 *      of the connection's remote peer); nonce is 32 fresh random bytes; proof =
 *      joinProof(secret, transcript) with transcript = pairingTranscript(inviteId, meshId,
 *      inviter key, joiner key, nonce). The secret itself never crosses the wire.
 *   2. inviter → joiner  JOIN_ACCEPT (type 2)
 *        { proof, welcome }
 *      after checking expiry, single use and the joiner's proof: proof =
 *      acceptProof(secret, transcript) shows the inviter holds the secret too, and welcome =
 *      sealTo(joiner X25519 key, encodeWelcome(w), aad = transcript). What w holds depends on
 *      the role of the invitation (the inviter's own record of it, never the joiner's claim):
 *        member   { meshId, agent: { name, seed }, meshKeys: [{ epoch, key }], roster }
 *                 the agent seed, the mesh key epochs and the roster (already holding the
 *                 signed `add` of the joiner); no role field, as before witnesses existed.
 *        witness  { role: "witness", meshId, agent: { name, publicKey }, roster }
 *                 only the agent's public key (an Ed25519 point), no mesh key, and the roster
 *                 (already holding the signed witness entry of the joiner).
 *      The joiner knows from its invitation which kind to expect and refuses the other kind,
 *      so a witness is never handed secrets and a machine never settles for a witness's share.
 *   or inviter → joiner  JOIN_REJECT (type 3)
 *        { code, message }
 *      code is one of the PAIRING_* error codes, message one line for a person to read.
 *
 * Both sides then show invitationSas(secret, inviter key, meshId), so the people at the two
 * machines can confirm they hold the same invitation.
 */
import { z } from 'zod'
import { PairingFrameMalformedError, PairingVersionUnsupportedError } from './errors.js'
import { addressListSchema, b64, bytesSchema, describeIssue, ed25519PublicKeySchema, inviteIdSchema, nameSchema } from './pairing-fields.js'
import { parseBody } from './pairing-json.js'
import { MAX_WELCOME_BYTES } from './pairing-welcome.js'

export const PAIRING_PROTOCOL = '/instar/pair/1.0.0'
/** Largest frame either side sends or accepts, in bytes (version and type included). */
export const MAX_PAIRING_FRAME = 256 * 1024

export const PAIRING_VERSION = 1
export const TYPE_JOIN_REQUEST = 1
export const TYPE_JOIN_ACCEPT = 2
export const TYPE_JOIN_REJECT = 3

export type PairingMessage =
  | {
      type: 'join-request'
      inviteId: string
      joiner: { publicKey: Uint8Array; name: string; addresses: string[] }
      nonce: Uint8Array
      proof: Uint8Array
    }
  | { type: 'join-accept'; proof: Uint8Array; welcome: Uint8Array }
  | { type: 'join-reject'; code: string; message: string }

const rejectCodeSchema = z.string().regex(/^[A-Z][A-Z0-9_]{2,63}$/, 'must be an upper-case error code')
const rejectMessageSchema = z
  .string()
  .max(500, 'must be at most 500 characters')
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not hold control characters')

const joinRequestSchema = z.strictObject({
  inviteId: inviteIdSchema,
  joiner: z.strictObject({
    publicKey: ed25519PublicKeySchema,
    name: nameSchema,
    addresses: addressListSchema,
  }),
  nonce: bytesSchema({ length: 32 }),
  proof: bytesSchema({ length: 32 }),
})

const joinAcceptSchema = z.strictObject({
  proof: bytesSchema({ length: 32 }),
  welcome: bytesSchema({ max: MAX_WELCOME_BYTES }),
})

const joinRejectSchema = z.strictObject({
  code: rejectCodeSchema,
  message: rejectMessageSchema,
})

// ---- frames -------------------------------------------------------------------------------

export function encodePairingMessage(m: PairingMessage): Uint8Array {
  let type: number
  let body: Record<string, unknown>
  let schema: z.ZodType
  switch (m.type) {
    case 'join-request':
      type = TYPE_JOIN_REQUEST
      schema = joinRequestSchema
      body = {
        inviteId: m.inviteId,
        joiner: {
          publicKey: b64(m.joiner.publicKey),
          name: m.joiner.name,
          addresses: m.joiner.addresses,
        },
        nonce: b64(m.nonce),
        proof: b64(m.proof),
      }
      break
    case 'join-accept':
      type = TYPE_JOIN_ACCEPT
      schema = joinAcceptSchema
      body = { proof: b64(m.proof), welcome: b64(m.welcome) }
      break
    case 'join-reject':
      type = TYPE_JOIN_REJECT
      schema = joinRejectSchema
      body = { code: m.code, message: m.message }
      break
    default:
      throw new PairingFrameMalformedError(`cannot encode: unknown message type ${String((m as { type?: unknown }).type)}`)
  }
  // Refuse to send what the peer would refuse to read.
  const checked = schema.safeParse(body)
  if (!checked.success) throw new PairingFrameMalformedError(`cannot encode ${m.type}: ${describeIssue(checked.error)}`)
  const json = new TextEncoder().encode(JSON.stringify(body))
  const frame = new Uint8Array(2 + json.length)
  frame[0] = PAIRING_VERSION
  frame[1] = type
  frame.set(json, 2)
  if (frame.length > MAX_PAIRING_FRAME) {
    throw new PairingFrameMalformedError(`cannot encode ${m.type}: ${frame.length} bytes exceed the ${MAX_PAIRING_FRAME}-byte frame limit`)
  }
  return frame
}

/**
 * Throws PairingVersionUnsupportedError for a version other than 1 and
 * PairingFrameMalformedError for anything else wrong; never any other error.
 */
export function decodePairingMessage(bytes: Uint8Array): PairingMessage {
  try {
    return decodeFrame(bytes)
  } catch (err) {
    if (err instanceof PairingFrameMalformedError || err instanceof PairingVersionUnsupportedError) throw err
    throw new PairingFrameMalformedError('undecodable frame', { cause: err })
  }
}

function decodeFrame(bytes: Uint8Array): PairingMessage {
  if (!(bytes instanceof Uint8Array)) throw new PairingFrameMalformedError('frame is not bytes')
  if (bytes.length === 0) throw new PairingFrameMalformedError('empty frame')
  if (bytes.length > MAX_PAIRING_FRAME) {
    throw new PairingFrameMalformedError(`frame of ${bytes.length} bytes exceeds the ${MAX_PAIRING_FRAME}-byte limit`)
  }
  const version = bytes[0] ?? 0
  if (version !== PAIRING_VERSION) throw new PairingVersionUnsupportedError(version)
  if (bytes.length < 2) throw new PairingFrameMalformedError('missing message type')
  const type = bytes[1] ?? 0
  switch (type) {
    case TYPE_JOIN_REQUEST: {
      const body = parseBody(joinRequestSchema, bytes.subarray(2), 'join-request')
      return { type: 'join-request', ...body }
    }
    case TYPE_JOIN_ACCEPT: {
      const body = parseBody(joinAcceptSchema, bytes.subarray(2), 'join-accept')
      return { type: 'join-accept', ...body }
    }
    case TYPE_JOIN_REJECT: {
      const body = parseBody(joinRejectSchema, bytes.subarray(2), 'join-reject')
      return { type: 'join-reject', ...body }
    }
    default:
      throw new PairingFrameMalformedError(`unknown message type ${type}`)
  }
}
