/** Deterministic machine identities for roster tests: machine `n` has the seed of 32 bytes of `n`. */
import { keyPairFromSeed, toHex } from '../../identity/index.js'
import { machinePeerId } from '../../mesh/roster-events.js'

export const seedOf = (n: number): Uint8Array => new Uint8Array(32).fill(n)
export const keyOf = (n: number): Uint8Array => keyPairFromSeed(seedOf(n)).publicKey
export const hexOf = (n: number): string => toHex(keyOf(n))
export const peerOf = (n: number): string => machinePeerId(keyOf(n))
