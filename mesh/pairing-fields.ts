/**
 * Field schemas of the pairing protocol's bodies, shared with invitation.ts: mesh ids,
 * addresses, names, base64url byte fields, Ed25519 keys, and the one-line description of a
 * schema's first issue that every refusal uses.
 */
import { z } from 'zod'
import { fromBase64Url, toBase64Url, x25519PublicFromEd25519 } from '../identity/index.js'
import { PairingFrameMalformedError } from './errors.js'

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

export const inviteIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits')
export const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-", starting with a letter or digit')
/** Unpadded base64url that decodes to exactly `length` bytes, or to at most `max`. */
export function bytesSchema(size: { length: number } | { max: number }) {
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

export const ed25519PublicKeySchema = bytesSchema({ length: 32 }).refine(
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

/** A byte field as unpadded base64url, refusing what is not bytes. */
export function b64(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new PairingFrameMalformedError('cannot encode: a byte field is not a Uint8Array')
  return toBase64Url(bytes)
}

/** The first issue as `field: problem`, naming the field but never quoting its value. */
export function describeIssue(error: z.ZodError): string {
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
