import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  codeOf,
  constantTimeEqual,
  domainSeparated,
  fingerprint,
  fromBase64Url,
  fromHex,
  generateSeed,
  hkdfSha256,
  hmacSha256,
  keyPairFromSeed,
  shortAuthString,
  toBase64Url,
  toHex,
  utf8Bytes,
} from './fixtures.js'

const RFC8032_TEST1_PUBLIC = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')

describe('fingerprints', () => {
  it('formats 24 Crockford base32 characters in six dash-joined groups of four', () => {
    for (let i = 0; i < 50; i++) {
      const print = fingerprint(keyPairFromSeed(generateSeed()).publicKey)
      expect(print).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){5}$/)
      expect(print).not.toMatch(/[ilou]/)
    }
  })

  it('encodes the first 15 bytes of SHA-256 of the key', () => {
    const digest = createHash('sha256').update(RFC8032_TEST1_PUBLIC).digest().subarray(0, 15)
    let bits = ''
    for (const byte of digest) bits += byte.toString(2).padStart(8, '0')
    const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
    let expected = ''
    for (let i = 0; i < 120; i += 5) expected += alphabet[parseInt(bits.slice(i, i + 5), 2)]
    expect(fingerprint(RFC8032_TEST1_PUBLIC).replaceAll('-', '')).toBe(expected)
  })

  it('is stable for one key and differs between keys', () => {
    const a = keyPairFromSeed(generateSeed()).publicKey
    const b = keyPairFromSeed(generateSeed()).publicKey
    expect(fingerprint(a)).toBe(fingerprint(Uint8Array.from(a)))
    expect(fingerprint(a)).not.toBe(fingerprint(b))
  })
})

describe('short authentication strings', () => {
  it('formats six digits as two groups of three', () => {
    for (let i = 0; i < 200; i++) {
      expect(shortAuthString(generateSeed())).toMatch(/^\d{3} \d{3}$/)
    }
  })

  it('is the same for the same transcript and changes with one bit of it', () => {
    const transcript = utf8Bytes('peer-a|peer-b|key-a|key-b')
    expect(shortAuthString(transcript)).toBe(shortAuthString(Uint8Array.from(transcript)))
    const flipped = Uint8Array.from(transcript)
    flipped[0] = (flipped[0] ?? 0) ^ 1
    const other = utf8Bytes('peer-a|peer-b|key-a|key-c')
    const distinct = new Set([shortAuthString(transcript), shortAuthString(flipped), shortAuthString(other)])
    expect(distinct.size).toBe(3)
  })

  it('reduces the first 32 bits of the domain-separated digest modulo one million', () => {
    const transcript = utf8Bytes('transcript')
    const digest = createHash('sha256').update(domainSeparated('instar/sas/v1', transcript)).digest()
    const digits = String(digest.readUInt32BE(0) % 1_000_000).padStart(6, '0')
    expect(shortAuthString(transcript)).toBe(`${digits.slice(0, 3)} ${digits.slice(3)}`)
  })
})

describe('domain separation', () => {
  it('frames ("ab","c") and ("a","bc") differently', () => {
    const a = domainSeparated('ctx', utf8Bytes('ab'), utf8Bytes('c'))
    const b = domainSeparated('ctx', utf8Bytes('a'), utf8Bytes('bc'))
    expect(toHex(a)).not.toBe(toHex(b))
  })

  it('keeps the context apart from the parts', () => {
    const a = domainSeparated('ctxa', utf8Bytes('b'))
    const b = domainSeparated('ctx', utf8Bytes('ab'))
    const c = domainSeparated('ctx', new Uint8Array(0))
    const d = domainSeparated('ctx')
    expect(new Set([a, b, c, d].map(toHex)).size).toBe(4)
  })

  it('prefixes every field with its u32 big-endian length', () => {
    expect(toHex(domainSeparated('ab', Uint8Array.of(7)))).toBe('00000002' + '6162' + '00000001' + '07')
  })
})

describe('MAC, KDF and encodings', () => {
  it('computes RFC 4231 test case 2 for HMAC-SHA256', () => {
    expect(toHex(hmacSha256(utf8Bytes('Jefe'), utf8Bytes('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
  })

  it('computes RFC 5869 test case 1 for HKDF-SHA256', () => {
    const okm = hkdfSha256(
      fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      fromHex('000102030405060708090a0b0c'),
      fromHex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    )
    expect(toHex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    )
  })

  it('compares bytes by content and length', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true)
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false)
  })

  it('round-trips base64url and hex', () => {
    for (let length = 0; length < 40; length++) {
      const bytes = generateSeed().subarray(0, length % 33)
      expect(toHex(fromBase64Url(toBase64Url(bytes)))).toBe(toHex(bytes))
      expect(toHex(fromHex(toHex(bytes)))).toBe(toHex(bytes))
    }
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8')
  })

  it('rejects padding, foreign characters and non-canonical base64url with IDENTITY_ENCODING_INVALID', () => {
    for (const bad of ['-_8=', 'ab+c', 'ab/c', 'ab c', 'a', '-_9']) {
      expect(codeOf(() => fromBase64Url(bad)), bad).toBe('IDENTITY_ENCODING_INVALID')
    }
  })

  it('rejects odd-length and non-hex input with IDENTITY_ENCODING_INVALID', () => {
    for (const bad of ['abc', 'zz', '0x00', ' 00']) {
      expect(codeOf(() => fromHex(bad)), bad).toBe('IDENTITY_ENCODING_INVALID')
    }
    expect(toHex(fromHex('ABcd'))).toBe('abcd')
  })
})
