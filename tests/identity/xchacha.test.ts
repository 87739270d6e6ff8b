import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { describe, expect, it } from 'vitest'
import { randomPooled } from '../../identity/random.js'
import { XCHACHA_TAG_LENGTH, xchachaOpen, xchachaSealInto } from '../../identity/xchacha.js'
import { mulberry32 } from '../support/seeded-random.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'))

function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + XCHACHA_TAG_LENGTH)
  xchachaSealInto(key, nonce, aad, plaintext, out, 0)
  return out
}

describe('xchacha20-poly1305 on node:crypto', () => {
  it('matches the draft-irtf-cfrg-xchacha-03 test vector', () => {
    const plaintext = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    )
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7')
    const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
    const nonce = fromHex('404142434445464748494a4b4c4d4e4f5051525354555657')
    const sealed = seal(key, nonce, aad, plaintext)
    expect(hex(sealed.subarray(sealed.length - 16))).toBe('c0875924c1c7987947deafd8780acf49')
    expect(hex(xchachaOpen(key, nonce, aad, sealed))).toBe(hex(plaintext))
  })

  it('seals the same bytes as @noble/ciphers and opens what it seals', () => {
    const seed = 0x5eed
    const random = mulberry32(seed)
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
    for (const length of [0, 1, 15, 16, 63, 64, 65, 1000, 70_000]) {
      const key = bytes(32)
      const nonce = bytes(24)
      const aad = bytes(length % 40)
      const plaintext = bytes(length)
      const ours = seal(key, nonce, aad, plaintext)
      const theirs = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
      expect(hex(ours), `seed ${seed}, length ${length}`).toBe(hex(theirs))
      expect(hex(xchachaOpen(key, nonce, aad, theirs))).toBe(hex(plaintext))
      expect(hex(xchacha20poly1305(key, nonce, aad).decrypt(ours))).toBe(hex(plaintext))
    }
  })

  it('refuses altered bytes, a wrong aad and a wrong key', () => {
    const key = new Uint8Array(32).fill(7)
    const nonce = new Uint8Array(24).fill(9)
    const aad = Uint8Array.of(1, 2, 3)
    const sealed = seal(key, nonce, aad, Uint8Array.of(10, 20, 30, 40))
    const altered = sealed.slice()
    altered[1] = (altered[1] ?? 0) ^ 1
    expect(() => xchachaOpen(key, nonce, aad, altered)).toThrow()
    expect(() => xchachaOpen(key, nonce, Uint8Array.of(1, 2), sealed)).toThrow()
    expect(() => xchachaOpen(new Uint8Array(32), nonce, aad, sealed)).toThrow()
    expect(() => xchachaOpen(key, nonce, aad, sealed.subarray(0, 10))).toThrow()
  })

  it('never hands out the same pooled random bytes twice', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) seen.add(hex(randomPooled(24)))
    expect(seen.size).toBe(2000)
  })
})
