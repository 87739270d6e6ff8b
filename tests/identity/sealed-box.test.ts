import { describe, expect, it } from 'vitest'
import { codeOf, generateSeed, keyPairFromSeed, openSealed, sealTo, toHex, utf8Bytes } from './fixtures.js'

const recipient = keyPairFromSeed(generateSeed())
const stranger = keyPairFromSeed(generateSeed())
const plaintext = utf8Bytes('agent key, mesh key epochs and roster')
const aad = utf8Bytes('pairing transcript')

describe('sealed boxes', () => {
  it('opens what was sealed to the recipient, with and without aad', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext, aad)
    expect(toHex(openSealed(recipient.x25519SecretKey, box, aad))).toBe(toHex(plaintext))
    const plain = sealTo(recipient.x25519PublicKey, new Uint8Array(0))
    expect(openSealed(recipient.x25519SecretKey, plain)).toHaveLength(0)
  })

  it('lays the box out as version, ephemeral key, nonce and ciphertext with tag', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext)
    expect(box[0]).toBe(0x01)
    expect(box.length).toBe(1 + 32 + 24 + plaintext.length + 16)
  })

  it('uses a fresh ephemeral key and nonce for every box', () => {
    const a = sealTo(recipient.x25519PublicKey, plaintext)
    const b = sealTo(recipient.x25519PublicKey, plaintext)
    expect(toHex(a.subarray(1, 57))).not.toBe(toHex(b.subarray(1, 57)))
  })

  it('rejects a flipped bit at every position with a typed error', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext, aad)
    for (let i = 0; i < box.length; i++) {
      const tampered = Uint8Array.from(box)
      tampered[i] = (tampered[i] ?? 0) ^ 0x01
      const expected = i === 0 ? 'IDENTITY_SEAL_MALFORMED' : 'IDENTITY_SEAL_OPEN_FAILED'
      expect(codeOf(() => openSealed(recipient.x25519SecretKey, tampered, aad)), `byte ${i}`).toBe(expected)
    }
  })

  it('rejects a truncated box as malformed or unopenable', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext)
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box.subarray(0, 72)))).toBe('IDENTITY_SEAL_MALFORMED')
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, new Uint8Array(0)))).toBe('IDENTITY_SEAL_MALFORMED')
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box.subarray(0, box.length - 1)))).toBe(
      'IDENTITY_SEAL_OPEN_FAILED',
    )
  })

  it('refuses to open with another secret key', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext)
    expect(codeOf(() => openSealed(stranger.x25519SecretKey, box))).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('refuses to open with different or missing aad', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext, aad)
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box, utf8Bytes('other')))).toBe('IDENTITY_SEAL_OPEN_FAILED')
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box))).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('rejects an unknown version byte as malformed', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext)
    box[0] = 0x02
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box))).toBe('IDENTITY_SEAL_MALFORMED')
  })

  it('rejects a box whose ephemeral key is a low-order point', () => {
    const box = sealTo(recipient.x25519PublicKey, plaintext)
    box.fill(0, 1, 33)
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box))).toBe('IDENTITY_SEAL_OPEN_FAILED')
    box[1] = 1
    expect(codeOf(() => openSealed(recipient.x25519SecretKey, box))).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('refuses to seal to a low-order or wrong-length recipient key', () => {
    expect(codeOf(() => sealTo(new Uint8Array(32), plaintext))).toBe('IDENTITY_KEY_INVALID')
    expect(codeOf(() => sealTo(new Uint8Array(31), plaintext))).toBe('IDENTITY_KEY_INVALID')
  })
})
