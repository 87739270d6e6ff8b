/**
 * What a hostile peer sends, as data: an Attack is the raw bytes it writes on one stream of
 * one protocol (length prefixes included, so a prefix may lie), cut into the pieces it
 * writes them in, what it does with the stream afterwards, and which codes the victim must
 * (one of `must`) or may log for it. The generators of each protocol (hostile-election.ts,
 * hostile-roster.ts, hostile-pairing.ts, hostile-sync.ts) build Attacks from a seeded random
 * source; hostile-driver.ts writes them. Shared by tests/hostile/fuzz.test.ts and
 * bench/hostile.bench.ts.
 */
import type { DocName } from '../crdt/index.js'

export type HostileProtocol = 'election' | 'roster' | 'pairing' | 'sync'

/** A write a member may legitimately make: the victim may end up holding `value` under `key`. */
export interface LegitWrite {
  doc: DocName
  root: string
  key: string
  value: unknown
}

export interface Attack {
  protocol: HostileProtocol
  /** What it is, for the replay line ("election/malformed"). */
  kind: string
  /** Raw bytes, written in this order, each as one write. */
  pieces: Uint8Array[]
  /** After writing: close our side, leave the stream open and silent, or reset it. */
  end: 'close' | 'abandon' | 'abort'
  /** The victim must log at least one of these (empty: nothing is required). */
  must: string[]
  /** Codes the victim may also log for it. */
  may: string[]
  /** Codes any `must` code may be replaced by (a rate limiter that answers first). */
  orElse?: string[]
  /** Data the victim may keep because of it. */
  legit?: LegitWrite[]
  /** Roster event ids the victim may keep (verified events that count for nothing). */
  keptEvents?: string[]
}

export type Random = () => number

export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
export const int = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1))

export function randomBytes(random: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256)
  return bytes
}

/** An unsigned varint (as libp2p's length prefix), of any bigint: a hostile prefix may be longer than any limit. */
export function varint(value: bigint | number): Uint8Array {
  let v = BigInt(value)
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return Uint8Array.from(out)
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A frame with its honest length prefix. */
export const prefixed = (frame: Uint8Array): Uint8Array => concat([varint(frame.length), frame])

/** `bytes` cut into writes: one, a few random pieces, or (up to 64 bytes) one byte at a time. */
export function fragment(random: Random, bytes: Uint8Array): Uint8Array[] {
  const roll = random()
  if (roll < 0.6 || bytes.length < 2) return [bytes]
  if (roll < 0.8 && bytes.length <= 64) return Array.from(bytes, (b) => Uint8Array.of(b))
  const cuts = new Set<number>()
  const n = int(random, 1, Math.min(8, bytes.length - 1))
  while (cuts.size < n) cuts.add(int(random, 1, bytes.length - 1))
  const sorted = [...cuts].sort((a, b) => a - b)
  return [0, ...sorted].map((start, i) => bytes.subarray(start, sorted[i] ?? bytes.length))
}

/** A random change to a frame: a byte flipped or set to an extreme, cut short, or grown. */
export function mutate(random: Random, frame: Uint8Array): Uint8Array {
  const out = frame.slice()
  switch (int(random, 0, 5)) {
    case 0:
      if (out.length > 0) {
        const at = int(random, 0, out.length - 1)
        out[at] = (out[at] ?? 0) ^ (1 << int(random, 0, 7))
      }
      return out
    case 1:
      if (out.length > 0) out[int(random, 0, Math.min(out.length - 1, 12))] = pick(random, [0, 1, 0x7f, 0x80, 0xfe, 0xff])
      return out
    case 2:
      return out.subarray(0, int(random, 0, Math.max(0, out.length - 1)))
    case 3:
      return concat([out, randomBytes(random, int(random, 1, 16))])
    case 4:
      for (let i = 0; i < Math.min(out.length, 4); i++) out[int(random, 0, out.length - 1)] = Math.floor(random() * 256)
      return out
    default:
      return randomBytes(random, int(random, 0, 48))
  }
}

/** A u32 at an edge, or anywhere. */
export const extremeU32 = (random: Random): number => pick(random, [0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff, Math.floor(random() * 2 ** 32)])

/** How a stream ends after an attack that does not say otherwise. */
export const endOf = (random: Random): Attack['end'] => (random() < 0.85 ? 'close' : 'abort')

/** A small seeded PRNG (mulberry32), the same as tests/support/seeded-random.ts (which bench/ cannot import). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
