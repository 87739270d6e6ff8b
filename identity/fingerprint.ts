/**
 * Key fingerprints to read aloud or compare by eye: SHA-256 of the key, first 15 bytes
 * (120 bits), Crockford base32 in lowercase (24 characters; no i, l, o or u), six groups of
 * four joined by "-".
 */
import { sha256Digest } from './hashing.js'

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz'
const FINGERPRINT_BYTES = 15
const GROUP = 4

export function fingerprint(publicKey: Uint8Array): string {
  const encoded = crockfordBase32(sha256Digest(publicKey).subarray(0, FINGERPRINT_BYTES))
  const groups: string[] = []
  for (let i = 0; i < encoded.length; i += GROUP) groups.push(encoded.slice(i, i + GROUP))
  return groups.join('-')
}

/** Big-endian bit order; callers pass a multiple of 5 bytes so there is no padding. */
function crockfordBase32(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += CROCKFORD[(buffer >> bits) & 0x1f]
    }
  }
  if (bits > 0) out += CROCKFORD[(buffer << (5 - bits)) & 0x1f]
  return out
}
