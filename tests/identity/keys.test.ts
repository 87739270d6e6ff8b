import { x25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  fromHex,
  generateSeed,
  keyPairFromSeed,
  sign,
  toHex,
  verify,
  x25519PublicFromEd25519,
} from '../../identity/index.js'

// RFC 8032 section 7.1, TEST 1, 2 and 3.
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
]

describe('Ed25519 against RFC 8032 section 7.1', () => {
  for (const vector of RFC8032) {
    it(`derives the public key and signature of ${vector.name}`, () => {
      const pair = keyPairFromSeed(fromHex(vector.secret))
      expect(toHex(pair.publicKey)).toBe(vector.public)
      expect(toHex(sign(fromHex(vector.secret), fromHex(vector.message)))).toBe(vector.signature)
    })

    it(`verifies the signature of ${vector.name} and rejects it on another message`, () => {
      const publicKey = fromHex(vector.public)
      const signature = fromHex(vector.signature)
      expect(verify(publicKey, fromHex(vector.message), signature)).toBe(true)
      expect(verify(publicKey, Uint8Array.of(0x01, ...fromHex(vector.message)), signature)).toBe(false)
    })
  }
})

describe('X25519 against RFC 7748', () => {
  it('computes the two scalar multiplication vectors of section 5.2', () => {
    expect(
      toHex(
        x25519.scalarMult(
          fromHex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
          fromHex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
        ),
      ),
    ).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552')
    expect(
      toHex(
        x25519.scalarMult(
          fromHex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
          fromHex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
        ),
      ),
    ).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957')
  })

  it('matches the iterated vectors of section 5.2 after 1 and 1000 iterations', () => {
    let k = fromHex('0900000000000000000000000000000000000000000000000000000000000000')
    let u = k
    const results: string[] = []
    for (let i = 1; i <= 1000; i++) {
      const next = x25519.scalarMult(k, u)
      u = k
      k = next
      if (i === 1 || i === 1000) results.push(toHex(k))
    }
    expect(results).toEqual([
      '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
      '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
    ])
  })

  it('reproduces the Diffie-Hellman example of section 6.1', () => {
    const alicePrivate = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const bobPrivate = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    const alicePublic = x25519.getPublicKey(alicePrivate)
    const bobPublic = x25519.getPublicKey(bobPrivate)
    expect(toHex(alicePublic)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    expect(toHex(bobPublic)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    expect(toHex(x25519.getSharedSecret(alicePrivate, bobPublic))).toBe(shared)
    expect(toHex(x25519.getSharedSecret(bobPrivate, alicePublic))).toBe(shared)
  })
})

describe('key pairs', () => {
  it('generates distinct 32-byte seeds', () => {
    const a = generateSeed()
    const b = generateSeed()
    expect(a).toHaveLength(32)
    expect(toHex(a)).not.toBe(toHex(b))
  })

  it('derives an X25519 pair whose public half matches the one peers derive from the Ed25519 key', () => {
    const pair = keyPairFromSeed(generateSeed())
    expect(toHex(x25519.getPublicKey(pair.x25519SecretKey))).toBe(toHex(pair.x25519PublicKey))
    expect(toHex(x25519PublicFromEd25519(pair.publicKey))).toBe(toHex(pair.x25519PublicKey))
  })

  it('agrees on one shared secret between two members from their Ed25519 public keys', () => {
    const a = keyPairFromSeed(generateSeed())
    const b = keyPairFromSeed(generateSeed())
    const ab = x25519.getSharedSecret(a.x25519SecretKey, x25519PublicFromEd25519(b.publicKey))
    const ba = x25519.getSharedSecret(b.x25519SecretKey, x25519PublicFromEd25519(a.publicKey))
    expect(toHex(ab)).toBe(toHex(ba))
  })

  it('rejects seeds that are not 32 bytes with IDENTITY_KEY_INVALID', () => {
    for (const length of [0, 31, 33, 64]) {
      expect(() => keyPairFromSeed(new Uint8Array(length))).toThrow(expect.objectContaining({ code: 'IDENTITY_KEY_INVALID' }))
      expect(() => sign(new Uint8Array(length), new Uint8Array(1))).toThrow(
        expect.objectContaining({ code: 'IDENTITY_KEY_INVALID' }),
      )
    }
  })

  it('rejects an Ed25519 public key that is not a curve point', () => {
    expect(() => x25519PublicFromEd25519(new Uint8Array(32).fill(0xff))).toThrow(
      expect.objectContaining({ code: 'IDENTITY_KEY_INVALID' }),
    )
    expect(() => x25519PublicFromEd25519(new Uint8Array(31))).toThrow(
      expect.objectContaining({ code: 'IDENTITY_KEY_INVALID' }),
    )
  })

  it('returns false instead of throwing for malformed keys and signatures', () => {
    const pair = keyPairFromSeed(generateSeed())
    const message = Uint8Array.of(1, 2, 3)
    const signature = sign(pair.seed, message)
    expect(verify(pair.publicKey, message, signature)).toBe(true)
    expect(verify(pair.publicKey.subarray(0, 31), message, signature)).toBe(false)
    expect(verify(pair.publicKey, message, signature.subarray(0, 63))).toBe(false)
    expect(verify(new Uint8Array(32).fill(0xff), message, signature)).toBe(false)
    expect(verify(pair.publicKey, message, new Uint8Array(64).fill(0xff))).toBe(false)
  })
})
