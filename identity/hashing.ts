/** Domain-separated framing and the SHA-256 based MAC and KDF the other parts build on. */
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes, u32be, utf8 } from './encoding.js'

/**
 * u32 BE length || bytes, for the context and then for each part. Every field is
 * length-prefixed, so ("ab","c") and ("a","bc") can never frame to the same bytes, and a
 * signature made for one context can never verify for another.
 */
export function domainSeparated(context: string, ...parts: Uint8Array[]): Uint8Array {
  const fields = [utf8(context), ...parts]
  const framed: Uint8Array[] = []
  for (const field of fields) framed.push(u32be(field.length), field)
  return concatBytes(...framed)
}

export function sha256Digest(message: Uint8Array): Uint8Array {
  return sha256(message)
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(sha256, key, message)
}

export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array | string,
  length: number,
): Uint8Array {
  return hkdf(sha256, ikm, salt, typeof info === 'string' ? utf8(info) : info, length)
}
