/** Ed25519 key pairs from a 32-byte seed, their X25519 twins, signing and verification. */
import { ed25519 } from '@noble/curves/ed25519.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { IdentityKeyInvalidError } from './errors.js'

export const SEED_LENGTH = 32
export const PUBLIC_KEY_LENGTH = 32
export const SIGNATURE_LENGTH = 64

export interface KeyPair {
  seed: Uint8Array
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array
  x25519PublicKey: Uint8Array
  x25519SecretKey: Uint8Array
}

export function generateSeed(): Uint8Array {
  return randomBytes(SEED_LENGTH)
}

export function assertSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    throw new IdentityKeyInvalidError(`Seed must be ${SEED_LENGTH} bytes`)
  }
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  assertSeed(seed)
  const publicKey = ed25519.getPublicKey(seed)
  return {
    seed: Uint8Array.from(seed),
    publicKey,
    x25519PublicKey: ed25519.utils.toMontgomery(publicKey),
    x25519SecretKey: ed25519.utils.toMontgomerySecret(seed),
  }
}

export function x25519PublicFromEd25519(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new IdentityKeyInvalidError(`Ed25519 public key must be ${PUBLIC_KEY_LENGTH} bytes`)
  }
  try {
    return ed25519.utils.toMontgomery(publicKey)
  } catch (cause) {
    throw new IdentityKeyInvalidError('Ed25519 public key is not a valid curve point', { cause })
  }
}

export function sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  assertSeed(seed)
  return ed25519.sign(message, seed)
}

/** Strict RFC 8032 verification (no ZIP-215 leniency); any malformed input is just false. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false
  if (!(message instanceof Uint8Array)) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}
