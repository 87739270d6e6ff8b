import { describe, expect, it } from 'vitest'
import {
  codeOf,
  generateMeshKey,
  MeshKeyUnknownEpochError,
  openWithMeshKey,
  readSealedEpoch,
  sealWithMeshKey,
  toHex,
  utf8Bytes,
  type MeshKey,
} from './fixtures.js'

const epoch1 = generateMeshKey(1)
const epoch2 = generateMeshKey(2)
const keyring = new Map<number, MeshKey>([
  [1, epoch1],
  [2, epoch2],
])
const lookup = (epoch: number): MeshKey | undefined => keyring.get(epoch)
const update = utf8Bytes('yjs update bytes')
const aad = utf8Bytes('doc:memory')

describe('mesh key', () => {
  it('generates a 32-byte key for the given epoch', () => {
    expect(epoch1.epoch).toBe(1)
    expect(epoch1.key).toHaveLength(32)
    expect(toHex(epoch1.key)).not.toBe(toHex(epoch2.key))
  })

  it('round-trips and reports the epoch it was sealed under', () => {
    const sealed = sealWithMeshKey(epoch2, update, aad)
    expect(readSealedEpoch(sealed)).toBe(2)
    const opened = openWithMeshKey(lookup, sealed, aad)
    expect(opened.epoch).toBe(2)
    expect(toHex(opened.plaintext)).toBe(toHex(update))
  })

  it('writes version 1 and the epoch big-endian in the header', () => {
    const sealed = sealWithMeshKey(generateMeshKey(0x01020304), update)
    expect(Array.from(sealed.subarray(0, 5))).toEqual([1, 1, 2, 3, 4])
    expect(sealed.length).toBe(5 + 24 + update.length + 16)
  })

  it('throws IDENTITY_UNKNOWN_EPOCH with the epoch when no key is known', () => {
    const sealed = sealWithMeshKey(generateMeshKey(9), update)
    let caught: unknown
    try {
      openWithMeshKey(lookup, sealed)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(MeshKeyUnknownEpochError)
    expect((caught as MeshKeyUnknownEpochError).code).toBe('IDENTITY_UNKNOWN_EPOCH')
    expect((caught as MeshKeyUnknownEpochError).epoch).toBe(9)
  })

  it('refuses a message relabelled with another known epoch', () => {
    const sealed = sealWithMeshKey(epoch1, update)
    sealed[4] = 2
    expect(codeOf(() => openWithMeshKey(lookup, sealed))).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('refuses a relabelled epoch even when the lookup hands back the right key', () => {
    const sealed = sealWithMeshKey(epoch1, update)
    sealed[4] = 7
    expect(codeOf(() => openWithMeshKey(() => epoch1, sealed))).toBe('IDENTITY_SEAL_OPEN_FAILED')
    expect(codeOf(() => openWithMeshKey(lookup, sealed))).toBe('IDENTITY_UNKNOWN_EPOCH')
  })

  it('refuses a message opened with a different key of the same epoch', () => {
    const sealed = sealWithMeshKey(epoch1, update)
    expect(codeOf(() => openWithMeshKey(() => generateMeshKey(1), sealed))).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('refuses a message opened with different aad', () => {
    const sealed = sealWithMeshKey(epoch1, update, aad)
    expect(codeOf(() => openWithMeshKey(lookup, sealed, utf8Bytes('doc:jobs')))).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('rejects a flipped bit in nonce or ciphertext', () => {
    const sealed = sealWithMeshKey(epoch1, update)
    for (let i = 5; i < sealed.length; i++) {
      const tampered = Uint8Array.from(sealed)
      tampered[i] = (tampered[i] ?? 0) ^ 0x80
      expect(codeOf(() => openWithMeshKey(lookup, tampered)), `byte ${i}`).toBe('IDENTITY_SEAL_OPEN_FAILED')
    }
  })

  it('rejects a wrong version or a message too short to hold header and tag as malformed', () => {
    const sealed = sealWithMeshKey(epoch1, update)
    const wrongVersion = Uint8Array.from(sealed)
    wrongVersion[0] = 0x02
    expect(codeOf(() => readSealedEpoch(wrongVersion))).toBe('IDENTITY_SEAL_MALFORMED')
    expect(codeOf(() => openWithMeshKey(lookup, wrongVersion))).toBe('IDENTITY_SEAL_MALFORMED')
    expect(codeOf(() => openWithMeshKey(lookup, sealed.subarray(0, 44)))).toBe('IDENTITY_SEAL_MALFORMED')
    expect(codeOf(() => readSealedEpoch(sealed.subarray(0, 3)))).toBe('IDENTITY_SEAL_MALFORMED')
  })

  it('rejects epochs that do not fit in a u32', () => {
    for (const epoch of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(codeOf(() => generateMeshKey(epoch)), String(epoch)).toBe('IDENTITY_KEY_INVALID')
    }
  })
})
