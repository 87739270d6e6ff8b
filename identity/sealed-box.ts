/**
 * Anonymous sealed boxes to an X25519 public key.
 *
 *   box = 0x01 || ephemeral X25519 public (32) || nonce (24) || XChaCha20-Poly1305 ciphertext
 *   key = HKDF-SHA256(ikm = X25519(eph secret, recipient public),
 *                     salt = ephemeral public || recipient public, info = "instar/seal/v1")
 *
 * The salt binds the key to both public keys, so the ephemeral key in the header is
 * authenticated and a box cannot be re-targeted. A fresh ephemeral key per box means the
 * key is never reused; the random nonce is belt and braces.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { concatBytes } from './encoding.js'
import { IdentityKeyInvalidError, SealMalformedError, SealOpenFailedError } from './errors.js'
import { hkdfSha256 } from './hashing.js'

const SEAL_VERSION = 0x01
const SEAL_INFO = 'instar/seal/v1'
const X25519_LENGTH = 32
const NONCE_LENGTH = 24
const TAG_LENGTH = 16
const HEADER_LENGTH = 1 + X25519_LENGTH + NONCE_LENGTH
const EMPTY = new Uint8Array(0)

export function sealTo(recipientX25519Public: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (!(recipientX25519Public instanceof Uint8Array) || recipientX25519Public.length !== X25519_LENGTH) {
    throw new IdentityKeyInvalidError(`Recipient X25519 public key must be ${X25519_LENGTH} bytes`)
  }
  const ephemeralSecret = x25519.utils.randomSecretKey()
  const ephemeralPublic = x25519.getPublicKey(ephemeralSecret)
  let shared: Uint8Array
  try {
    shared = sharedSecret(ephemeralSecret, recipientX25519Public)
  } catch (cause) {
    throw new IdentityKeyInvalidError('Recipient X25519 public key is a low-order point', { cause })
  } finally {
    ephemeralSecret.fill(0)
  }
  const key = hkdfSha256(shared, concatBytes(ephemeralPublic, recipientX25519Public), SEAL_INFO, 32)
  shared.fill(0)
  const nonce = randomBytes(NONCE_LENGTH)
  const ciphertext = xchacha20poly1305(key, nonce, aad ?? EMPTY).encrypt(plaintext)
  key.fill(0)
  return concatBytes(Uint8Array.of(SEAL_VERSION), ephemeralPublic, nonce, ciphertext)
}

export function openSealed(recipientX25519Secret: Uint8Array, box: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (!(recipientX25519Secret instanceof Uint8Array) || recipientX25519Secret.length !== X25519_LENGTH) {
    throw new IdentityKeyInvalidError(`Recipient X25519 secret key must be ${X25519_LENGTH} bytes`)
  }
  if (!(box instanceof Uint8Array) || box.length < HEADER_LENGTH + TAG_LENGTH) {
    throw new SealMalformedError('too short')
  }
  if (box[0] !== SEAL_VERSION) throw new SealMalformedError('unsupported version')
  const ephemeralPublic = box.subarray(1, 1 + X25519_LENGTH)
  const nonce = box.subarray(1 + X25519_LENGTH, HEADER_LENGTH)
  const ciphertext = box.subarray(HEADER_LENGTH)
  const recipientPublic = x25519.getPublicKey(recipientX25519Secret)
  let shared: Uint8Array
  try {
    shared = sharedSecret(recipientX25519Secret, ephemeralPublic)
  } catch (cause) {
    throw new SealOpenFailedError({ cause })
  }
  const key = hkdfSha256(shared, concatBytes(ephemeralPublic, recipientPublic), SEAL_INFO, 32)
  shared.fill(0)
  try {
    return xchacha20poly1305(key, nonce, aad ?? EMPTY).decrypt(ciphertext)
  } catch (cause) {
    throw new SealOpenFailedError({ cause })
  } finally {
    key.fill(0)
  }
}

/** X25519 that refuses an all-zero result, whatever the library does about low-order points. */
function sharedSecret(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secret, peerPublic)
  let bits = 0
  for (const byte of shared) bits |= byte
  if (bits === 0) throw new RangeError('X25519 shared secret is all zero (low-order point)')
  return shared
}
