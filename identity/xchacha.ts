/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) on OpenSSL's ChaCha20-Poly1305:
 *
 *   subkey = HChaCha20(key, nonce[0..16])                 (@noble/ciphers)
 *   ct||tag = ChaCha20-Poly1305(subkey, 0x00000000 || nonce[16..24], aad, plaintext)   (node:crypto)
 *
 * Byte for byte what @noble/ciphers' xchacha20poly1305 produces (tests/identity/xchacha.test.ts
 * checks both directions), at native speed: the pure-JS cipher spent seconds a start opening
 * a large snapshot.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { hchacha } from '@noble/ciphers/chacha.js'

export const XCHACHA_NONCE_LENGTH = 24
export const XCHACHA_TAG_LENGTH = 16

const KEY_LENGTH = 32
// "expand 32-byte k" as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

function words(bytes: Uint8Array): Uint32Array {
  const copy = new Uint8Array(bytes) // aligned, and ours to wipe
  const out = new Uint32Array(copy.buffer, 0, copy.length / 4)
  if (!LITTLE_ENDIAN) for (let i = 0; i < out.length; i++) out[i] = swap32(out[i] as number)
  return out
}

function swap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0
}

function subkeyAndIv(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  if (key.length !== KEY_LENGTH) throw new Error('xchacha20poly1305: key must be 32 bytes')
  if (nonce.length !== XCHACHA_NONCE_LENGTH) throw new Error('xchacha20poly1305: nonce must be 24 bytes')
  const k = words(key)
  const out = new Uint32Array(8)
  hchacha(SIGMA, k, words(nonce.subarray(0, 16)), out)
  k.fill(0)
  if (!LITTLE_ENDIAN) for (let i = 0; i < out.length; i++) out[i] = swap32(out[i] as number)
  const iv = new Uint8Array(12)
  iv.set(nonce.subarray(16, 24), 4)
  return { subkey: new Uint8Array(out.buffer), iv }
}

/** Writes ciphertext then the 16-byte tag into `out` from `offset` (room for plaintext + 16). */
export function xchachaSealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): void {
  if (out.length - offset < plaintext.length + XCHACHA_TAG_LENGTH) throw new Error('xchacha20poly1305: output too short')
  const { subkey, iv } = subkeyAndIv(key, nonce)
  try {
    const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: XCHACHA_TAG_LENGTH })
    cipher.setAAD(aad, { plaintextLength: plaintext.length })
    const head = cipher.update(plaintext)
    const tail = cipher.final()
    out.set(head, offset)
    out.set(tail, offset + head.length)
    out.set(cipher.getAuthTag(), offset + head.length + tail.length)
  } finally {
    subkey.fill(0)
  }
}

/** The plaintext; throws when the tag does not verify (any cause: key, nonce, aad or bytes). */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < XCHACHA_TAG_LENGTH) throw new Error('xchacha20poly1305: ciphertext shorter than the tag')
  const { subkey, iv } = subkeyAndIv(key, nonce)
  try {
    const body = sealed.subarray(0, sealed.length - XCHACHA_TAG_LENGTH)
    const decipher = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: XCHACHA_TAG_LENGTH })
    decipher.setAAD(aad, { plaintextLength: body.length })
    decipher.setAuthTag(sealed.subarray(sealed.length - XCHACHA_TAG_LENGTH))
    const head = decipher.update(body)
    const tail = decipher.final()
    // A stream cipher: final() has nothing left, so the update's bytes are the plaintext.
    if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length)
    const out = new Uint8Array(head.length + tail.length)
    out.set(head, 0)
    out.set(tail, head.length)
    return out
  } finally {
    subkey.fill(0)
  }
}
