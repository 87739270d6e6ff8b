/**
 * The pairing protocol, `/instar/pair/1.0.0`: how a new machine joins a mesh with an
 * invitation. Pure encode/decode; `pairing-stream.ts` binds it to a libp2p stream, which
 * length-prefixes each frame and refuses one longer than MAX_PAIRING_FRAME.
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
import { sha256 } from '@noble/hashes/sha2.js'
import { z } from 'zod'
import {
  constantTimeEqual,
  domainSeparated,
  fromBase64Url,
  hmacSha256,
  toBase64Url,
  x25519PublicFromEd25519,
} from '../identity/index.js'
import { PairingFrameMalformedError, PairingProofInvalidError, PairingVersionUnsupportedError } from './errors.js'

export const PAIRING_PROTOCOL = '/instar/pair/1.0.0'
/** Largest frame either side sends or accepts, in bytes (version and type included). */
export const MAX_PAIRING_FRAME = 256 * 1024
/** Largest sealed welcome box in a JOIN_ACCEPT, and largest encoded Welcome, in bytes. */
export const MAX_WELCOME_BYTES = 200 * 1024

const PAIRING_VERSION = 1
const TYPE_JOIN_REQUEST = 1
const TYPE_JOIN_ACCEPT = 2
const TYPE_JOIN_REJECT = 3
/** Our bodies nest three levels deep; anything much deeper is hostile. */
const MAX_JSON_DEPTH = 8
const MAX_ROSTER_BYTES = 150 * 1024
const MAX_MESH_KEYS = 1024
const MAX_EPOCH = 2 ** 31
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

const TRANSCRIPT_CONTEXT = 'instar/pair-transcript/v1'

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

export type WelcomeRole = 'member' | 'witness'

/** What a machine joining as a member receives: everything it needs to act for the agent. */
export interface MemberWelcome {
  role: 'member'
  meshId: string
  agent: { name: string; seed: Uint8Array }
  meshKeys: Array<{ epoch: number; key: Uint8Array }>
  /** A Yjs update holding the roster document. */
  roster: Uint8Array
}

/** What a witness receives: enough to verify and vote, nothing to sign or decrypt with. */
export interface WitnessWelcome {
  role: 'witness'
  meshId: string
  agent: { name: string; publicKey: Uint8Array }
  /** A Yjs update holding the roster document. */
  roster: Uint8Array
}

export type Welcome = MemberWelcome | WitnessWelcome

// ---- field schemas (shared with invitation.ts) -------------------------------------------

/** `m` and 32 lowercase hex digits. */
export const meshIdSchema = z.string().regex(/^m[0-9a-f]{32}$/, 'must be "m" and 32 lowercase hex digits')
/** A multiaddr as text: 1 to 256 printable ASCII characters (not parsed here). */
export const addressSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
/** At most 16 addresses. */
export const addressListSchema = z.array(addressSchema).max(16, 'must hold at most 16 addresses')

const inviteIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits')
const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-", starting with a letter or digit')
const rejectCodeSchema = z.string().regex(/^[A-Z][A-Z0-9_]{2,63}$/, 'must be an upper-case error code')
const rejectMessageSchema = z
  .string()
  .max(500, 'must be at most 500 characters')
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not hold control characters')

/** Unpadded base64url that decodes to exactly `length` bytes, or to at most `max`. */
function bytesSchema(size: { length: number } | { max: number }) {
  const limit = 'length' in size ? size.length : size.max
  const expected = 'length' in size ? `exactly ${size.length} bytes` : `at most ${size.max} bytes`
  return z
    .string()
    .max(Math.ceil((limit * 4) / 3), `must be ${expected}`)
    .transform((text, ctx) => {
      let bytes: Uint8Array
      try {
        bytes = fromBase64Url(text)
      } catch {
        ctx.issues.push({ code: 'custom', message: 'is not unpadded base64url', input: text })
        return z.NEVER
      }
      if ('length' in size ? bytes.length !== size.length : bytes.length > size.max) {
        ctx.issues.push({ code: 'custom', message: `must be ${expected}, not ${bytes.length}`, input: text })
        return z.NEVER
      }
      return bytes
    })
}

const ed25519PublicKeySchema = bytesSchema({ length: 32 }).refine(
  (key) => {
    try {
      x25519PublicFromEd25519(key)
      return true
    } catch {
      return false
    }
  },
  { message: 'is not an Ed25519 public key' },
)

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

const memberWelcomeSchema = z.strictObject({
  meshId: meshIdSchema,
  agent: z.strictObject({
    name: nameSchema,
    seed: bytesSchema({ length: 32 }),
  }),
  meshKeys: z
    .array(
      z.strictObject({
        epoch: z
          .number()
          .int('must be an integer')
          .min(1, 'must be positive')
          .max(MAX_EPOCH, `must be at most ${MAX_EPOCH}`),
        key: bytesSchema({ length: 32 }),
      }),
    )
    .min(1, 'must hold at least one key')
    .max(MAX_MESH_KEYS, `must hold at most ${MAX_MESH_KEYS} keys`)
    .refine((keys) => new Set(keys.map((k) => k.epoch)).size === keys.length, { message: 'repeats an epoch' }),
  roster: bytesSchema({ max: MAX_ROSTER_BYTES }),
})

const witnessWelcomeSchema = z.strictObject({
  role: z.literal('witness', { error: 'must be "witness"' }),
  meshId: meshIdSchema,
  agent: z.strictObject({
    name: nameSchema,
    publicKey: ed25519PublicKeySchema,
  }),
  roster: bytesSchema({ max: MAX_ROSTER_BYTES }),
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

// ---- transcript and proofs ----------------------------------------------------------------

/** SHA-256 over everything both sides must agree on; the proofs and the welcome's aad bind to it. */
export function pairingTranscript(p: {
  inviteId: string
  meshId: string
  inviterPublicKey: Uint8Array
  joinerPublicKey: Uint8Array
  nonce: Uint8Array
}): Uint8Array {
  const encoder = new TextEncoder()
  return sha256(
    domainSeparated(
      TRANSCRIPT_CONTEXT,
      encoder.encode(p.inviteId),
      encoder.encode(p.meshId),
      p.inviterPublicKey,
      p.joinerPublicKey,
      p.nonce,
    ),
  )
}

/** The joiner's proof that it holds the invitation's secret. */
export function joinProof(secret: Uint8Array, transcript: Uint8Array): Uint8Array {
  return hmacSha256(secret, domainSeparated('join', transcript))
}

/** The inviter's proof that it issued the invitation. */
export function acceptProof(secret: Uint8Array, transcript: Uint8Array): Uint8Array {
  return hmacSha256(secret, domainSeparated('accept', transcript))
}

/** Constant-time check; `side` is the party whose proof `got` is. */
export function checkProof(expected: Uint8Array, got: Uint8Array, side: 'joiner' | 'inviter'): void {
  if (!constantTimeEqual(expected, got)) throw new PairingProofInvalidError(side)
}

// ---- welcome ------------------------------------------------------------------------------

export function encodeWelcome(w: Welcome): Uint8Array {
  let body: Record<string, unknown>
  let schema: z.ZodType
  switch (w.role) {
    case 'member':
      schema = memberWelcomeSchema
      body = {
        meshId: w.meshId,
        agent: { name: w.agent.name, seed: b64(w.agent.seed) },
        meshKeys: w.meshKeys.map((k) => ({ epoch: k.epoch, key: b64(k.key) })),
        roster: b64(w.roster),
      }
      break
    case 'witness':
      schema = witnessWelcomeSchema
      body = {
        role: 'witness',
        meshId: w.meshId,
        agent: { name: w.agent.name, publicKey: b64(w.agent.publicKey) },
        roster: b64(w.roster),
      }
      break
    default:
      throw new PairingFrameMalformedError(`cannot encode welcome: unknown role ${String((w as { role?: unknown }).role)}`)
  }
  const checked = schema.safeParse(body)
  if (!checked.success) throw new PairingFrameMalformedError(`cannot encode welcome: ${describeIssue(checked.error)}`)
  const bytes = new TextEncoder().encode(JSON.stringify(body))
  if (bytes.length > MAX_WELCOME_BYTES) {
    throw new PairingFrameMalformedError(`cannot encode welcome: ${bytes.length} bytes exceed the ${MAX_WELCOME_BYTES}-byte limit`)
  }
  return bytes
}

/**
 * Decodes a welcome of the kind `role` the joiner's invitation announced. Throws
 * PairingFrameMalformedError on anything wrong, a welcome of the other kind included; never
 * any other error.
 */
export function decodeWelcome(bytes: Uint8Array, role: 'member'): MemberWelcome
export function decodeWelcome(bytes: Uint8Array, role: 'witness'): WitnessWelcome
export function decodeWelcome(bytes: Uint8Array, role: WelcomeRole): Welcome
export function decodeWelcome(bytes: Uint8Array, role: WelcomeRole): Welcome {
  try {
    if (role !== 'member' && role !== 'witness') throw new PairingFrameMalformedError('cannot decode welcome: unknown role expected')
    if (!(bytes instanceof Uint8Array)) throw new PairingFrameMalformedError('welcome is not bytes')
    if (bytes.length > MAX_WELCOME_BYTES) {
      throw new PairingFrameMalformedError(`welcome of ${bytes.length} bytes exceeds the ${MAX_WELCOME_BYTES}-byte limit`)
    }
    const parsed = parseJson(bytes, 'welcome')
    // The schemas would refuse the other kind anyway; this says so in words a person can act on.
    const carriesRole = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.hasOwn(parsed, 'role')
    if (role === 'witness') {
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && !carriesRole) {
        throw new PairingFrameMalformedError('welcome is a member\'s welcome where a witness\'s was expected')
      }
      return checkBody(witnessWelcomeSchema, parsed, 'welcome')
    }
    if (carriesRole && (parsed as { role?: unknown }).role === 'witness') {
      throw new PairingFrameMalformedError('welcome is a witness\'s welcome where a member\'s was expected')
    }
    return { role: 'member', ...checkBody(memberWelcomeSchema, parsed, 'welcome') }
  } catch (err) {
    if (err instanceof PairingFrameMalformedError) throw err
    throw new PairingFrameMalformedError('undecodable welcome', { cause: err })
  }
}

// ---- helpers ------------------------------------------------------------------------------

function b64(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new PairingFrameMalformedError('cannot encode: a byte field is not a Uint8Array')
  return toBase64Url(bytes)
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8, bounded nesting, JSON without prototype keys, then the schema. */
function parseBody<S extends z.ZodType>(schema: S, body: Uint8Array, what: string): z.output<S> {
  return checkBody(schema, parseJson(body, what), what)
}

/** UTF-8, bounded nesting, JSON without prototype keys; the value is not yet trusted. */
function parseJson(body: Uint8Array, what: string): unknown {
  let text: string
  try {
    text = utf8Decoder.decode(body)
  } catch {
    throw new PairingFrameMalformedError(`${what} body is not UTF-8`)
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new PairingFrameMalformedError(`${what} body is nested too deeply`)
  let parsed: unknown
  let forbidden: string | undefined
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) forbidden ??= key
      return value
    })
  } catch {
    // No cause: JSON.parse's message quotes the input.
    throw new PairingFrameMalformedError(`${what} body is not JSON`)
  }
  if (forbidden !== undefined) throw new PairingFrameMalformedError(`${what} body holds the forbidden key "${forbidden}"`)
  return parsed
}

function checkBody<S extends z.ZodType>(schema: S, parsed: unknown, what: string): z.output<S> {
  const result = schema.safeParse(parsed)
  if (!result.success) throw new PairingFrameMalformedError(`${what} ${describeIssue(result.error)}`)
  return result.data
}

/** Deepest bracket nesting outside strings; a linear scan, so hostile input costs no recursion. */
function jsonDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (escaped) escaped = false
      else if (c === 0x5c /* \ */) escaped = true
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++
      if (depth > deepest) deepest = depth
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--
  }
  return deepest
}

/** The first issue as `field: problem`, naming the field but never quoting its value. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'body: invalid'
  let path = ''
  for (const part of issue.path) {
    if (typeof part === 'number') path += `[${part}]`
    else path += path === '' ? String(part) : `.${String(part)}`
  }
  if (path === '') path = 'body'
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.slice(0, 3).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k))
    return `${path}: unknown field ${keys.join(', ')}${issue.keys.length > 3 ? ', …' : ''}`
  }
  return `${path}: ${issue.message}`
}
