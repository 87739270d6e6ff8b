/**
 * Fresh CSPRNG bytes through a small pool: one platform call fills 4 KiB, and each byte is
 * handed out once and then wiped from the pool. For the many small draws of a busy node
 * (seal nonces, entry ids), where one getRandomValues call per draw cost more than sealing a
 * small update.
 */
import { randomFillSync } from 'node:crypto'

const POOL_BYTES = 4096
const pool = new Uint8Array(POOL_BYTES)
let poolUsed = POOL_BYTES

/** `length` (at most 4096) fresh bytes from the CSPRNG; each byte is handed out once. */
export function randomPooled(length: number): Uint8Array {
  if (length > POOL_BYTES) return randomFillSync(new Uint8Array(length))
  if (poolUsed + length > POOL_BYTES) {
    randomFillSync(pool)
    poolUsed = 0
  }
  const out = pool.slice(poolUsed, poolUsed + length)
  // Wipe what was handed out, so no later reader of the pool can see it.
  pool.fill(0, poolUsed, poolUsed + length)
  poolUsed += length
  return out
}
