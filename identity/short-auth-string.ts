/**
 * Short authentication string: six digits both sides of a pairing show, so the people at
 * the two machines can confirm they talk to each other and not to someone in between.
 */
import { readU32be } from './encoding.js'
import { domainSeparated, sha256Digest } from './hashing.js'

const SAS_CONTEXT = 'instar/sas/v1'
const SAS_MODULUS = 1_000_000

/**
 * Reduces the first 32 bits of the digest modulo 10^6 rather than taking exactly 20 bits:
 * 2^20 exceeds 10^6, and 20 bits modulo 10^6 would make some codes twice as likely. From
 * 32 bits the bias is below 2^-12 of a code's probability.
 */
export function shortAuthString(transcript: Uint8Array): string {
  const digest = sha256Digest(domainSeparated(SAS_CONTEXT, transcript))
  const code = (readU32be(digest, 0) % SAS_MODULUS).toString().padStart(6, '0')
  return `${code.slice(0, 3)} ${code.slice(3)}`
}
