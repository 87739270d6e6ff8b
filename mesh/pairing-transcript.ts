/**
 * The pairing transcript and the two proofs over it. The transcript is SHA-256 over
 * everything both sides must agree on (invite id, mesh id, both machine keys, the joiner's
 * nonce); each side proves it holds the invitation's secret with an HMAC over it, under its
 * own label, and the welcome box is sealed with it as associated data.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { constantTimeEqual, domainSeparated, hmacSha256 } from '../identity/index.js'
import { PairingProofInvalidError } from './errors.js'

const TRANSCRIPT_CONTEXT = 'instar/pair-transcript/v1'

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
