/**
 * Signed, expiring tokens (invitations), as one copy-paste safe line:
 *
 *   token = "instar1." || base64url-nopad(blob)
 *   blob  = version 0x01 || signer Ed25519 public (32) || json length (u32 BE)
 *           || UTF-8 JSON {kind, iat, exp, payload} || signature (64)
 *   signature = Ed25519(domainSeparated("instar/token/v1", blob without signature))
 *
 * Decoding strips all whitespace first, because chat apps wrap long lines. The signature
 * is checked before any JSON field is trusted, and expiry only after the signature, so an
 * attacker learns nothing from which check failed.
 */
import {
  concatBytes,
  constantTimeEqual,
  fromBase64Url,
  fromUtf8,
  readU32be,
  toBase64Url,
  u32be,
  utf8,
} from './encoding.js'
import {
  TokenEncodeError,
  TokenExpiredError,
  TokenMalformedError,
  TokenSignatureInvalidError,
  TokenSignerMismatchError,
} from './errors.js'
import { domainSeparated } from './hashing.js'
import { assertSeed, keyPairFromSeed, PUBLIC_KEY_LENGTH, sign, SIGNATURE_LENGTH, verify } from './keys.js'

export const TOKEN_PREFIX = 'instar1.'
export const DEFAULT_TOKEN_MAX_BYTES = 4096

const TOKEN_VERSION = 0x01
const TOKEN_CONTEXT = 'instar/token/v1'
const FIXED_HEAD = 1 + PUBLIC_KEY_LENGTH + 4
const WHITESPACE = /\s+/g

export interface SignTokenOptions {
  issuedAt: number
  expiresAt: number
  kind: string
}

export interface VerifyTokenOptions {
  now: number
  kind: string
  /** When given, the token must be signed by exactly this Ed25519 public key. */
  signer?: Uint8Array
  /** Largest accepted decoded token, in bytes. Default 4096. */
  maxBytes?: number
}

export interface VerifiedToken {
  signer: Uint8Array
  issuedAt: number
  expiresAt: number
  payload: Record<string, unknown>
}

export function signToken(
  seed: Uint8Array,
  payload: Record<string, unknown>,
  opts: SignTokenOptions,
): string {
  assertSeed(seed)
  const { issuedAt, expiresAt, kind } = opts
  if (typeof kind !== 'string' || kind.length === 0) throw new TokenEncodeError('kind must be a non-empty string')
  if (!Number.isSafeInteger(issuedAt) || !Number.isSafeInteger(expiresAt)) {
    throw new TokenEncodeError('issuedAt and expiresAt must be integer milliseconds')
  }
  if (expiresAt <= issuedAt) throw new TokenEncodeError('expiresAt must be later than issuedAt')
  if (!isPlainRecord(payload)) throw new TokenEncodeError('payload must be a plain object')
  let json: string
  try {
    json = JSON.stringify({ kind, iat: issuedAt, exp: expiresAt, payload })
  } catch (cause) {
    throw new TokenEncodeError('payload is not JSON-serializable', { cause })
  }
  const jsonBytes = utf8(json)
  const { publicKey } = keyPairFromSeed(seed)
  const signed = concatBytes(Uint8Array.of(TOKEN_VERSION), publicKey, u32be(jsonBytes.length), jsonBytes)
  const signature = sign(seed, domainSeparated(TOKEN_CONTEXT, signed))
  return TOKEN_PREFIX + toBase64Url(concatBytes(signed, signature))
}

export function verifyToken(token: string, opts: VerifyTokenOptions): VerifiedToken {
  const maxBytes = opts.maxBytes ?? DEFAULT_TOKEN_MAX_BYTES
  if (typeof token !== 'string') throw new TokenMalformedError('bad prefix')
  // Cheap guard before any regex or decoding work; generous enough for wrapped lines.
  if (token.length > 4 * maxBytes + 1024) throw new TokenMalformedError('too large')
  const compact = token.replace(WHITESPACE, '')
  if (!compact.startsWith(TOKEN_PREFIX)) throw new TokenMalformedError('bad prefix')
  const body = compact.slice(TOKEN_PREFIX.length)
  if (Math.floor((body.length * 3) / 4) > maxBytes) throw new TokenMalformedError('too large')
  let blob: Uint8Array
  try {
    blob = fromBase64Url(body)
  } catch (cause) {
    throw new TokenMalformedError('bad base64', { cause })
  }
  if (blob.length > maxBytes) throw new TokenMalformedError('too large')
  if (blob.length < 1) throw new TokenMalformedError('truncated')
  if (blob[0] !== TOKEN_VERSION) throw new TokenMalformedError('unsupported version')
  if (blob.length < FIXED_HEAD + SIGNATURE_LENGTH) throw new TokenMalformedError('truncated')
  const jsonLength = readU32be(blob, 1 + PUBLIC_KEY_LENGTH)
  const expected = FIXED_HEAD + jsonLength + SIGNATURE_LENGTH
  if (blob.length < expected) throw new TokenMalformedError('truncated')
  if (blob.length > expected) throw new TokenMalformedError('trailing bytes')

  const signer = blob.slice(1, 1 + PUBLIC_KEY_LENGTH)
  const signed = blob.subarray(0, FIXED_HEAD + jsonLength)
  const signature = blob.subarray(FIXED_HEAD + jsonLength)
  if (!verify(signer, domainSeparated(TOKEN_CONTEXT, signed), signature)) throw new TokenSignatureInvalidError()
  if (opts.signer !== undefined && !constantTimeEqual(signer, opts.signer)) throw new TokenSignerMismatchError()

  const claims = parseClaims(blob.subarray(FIXED_HEAD, FIXED_HEAD + jsonLength))
  if (claims.kind !== opts.kind) throw new TokenMalformedError('wrong kind')
  // Written as !(now < exp) so a NaN clock reading fails closed.
  if (!(opts.now < claims.exp)) throw new TokenExpiredError(claims.exp, opts.now)
  return { signer, issuedAt: claims.iat, expiresAt: claims.exp, payload: claims.payload }
}

interface Claims {
  kind: string
  iat: number
  exp: number
  payload: Record<string, unknown>
}

function parseClaims(jsonBytes: Uint8Array): Claims {
  let parsed: unknown
  try {
    parsed = JSON.parse(fromUtf8(jsonBytes))
  } catch {
    // No cause: JSON.parse's message quotes the input, and the payload may hold a secret.
    throw new TokenMalformedError('bad json')
  }
  if (!isPlainRecord(parsed)) throw new TokenMalformedError('bad fields')
  const { kind, iat, exp, payload } = parsed
  if (typeof kind !== 'string') throw new TokenMalformedError('bad fields')
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) throw new TokenMalformedError('bad fields')
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) throw new TokenMalformedError('bad fields')
  if (!isPlainRecord(payload)) throw new TokenMalformedError('bad fields')
  return { kind, iat, exp, payload }
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

