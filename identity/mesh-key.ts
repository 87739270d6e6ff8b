/**
 * The mesh key: a symmetric key numbered by epoch that seals every CRDT update.
 *
 *   sealed = 0x01 || epoch (u32 BE) || nonce (24) || XChaCha20-Poly1305 ciphertext
 *   AEAD associated data = the 5 header bytes (version, epoch) || caller's aad
 *
 * The header is fixed-length, so header || aad is unambiguous; authenticating it stops a
 * relay from relabelling a message with another epoch.
 */
import { randomBytes } from '@noble/hashes/utils.js'
import { concatBytes, isU32, readU32be } from './encoding.js'
import {
  IdentityKeyInvalidError,
  MeshKeyUnknownEpochError,
  SealMalformedError,
  SealOpenFailedError,
} from './errors.js'
import { randomPooled } from './random.js'
import { xchachaOpen, xchachaSealInto } from './xchacha.js'

export interface MeshKey {
  epoch: number
  /** 32 bytes. */
  key: Uint8Array
}

const MESH_SEAL_VERSION = 0x01
const MESH_KEY_LENGTH = 32
const EPOCH_HEADER_LENGTH = 5
const NONCE_LENGTH = 24
const TAG_LENGTH = 16
const HEADER_LENGTH = EPOCH_HEADER_LENGTH + NONCE_LENGTH

export function assertMeshKey(meshKey: MeshKey): void {
  if (!isU32(meshKey.epoch)) {
    throw new IdentityKeyInvalidError('Mesh key epoch must be an integer from 0 to 4294967295')
  }
  if (!(meshKey.key instanceof Uint8Array) || meshKey.key.length !== MESH_KEY_LENGTH) {
    throw new IdentityKeyInvalidError(`Mesh key for epoch ${meshKey.epoch} must be ${MESH_KEY_LENGTH} bytes`)
  }
}

export function generateMeshKey(epoch: number): MeshKey {
  const meshKey = { epoch, key: randomBytes(MESH_KEY_LENGTH) }
  assertMeshKey(meshKey)
  return meshKey
}

export function sealWithMeshKey(meshKey: MeshKey, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  assertMeshKey(meshKey)
  const out = new Uint8Array(HEADER_LENGTH + plaintext.length + TAG_LENGTH)
  out[0] = MESH_SEAL_VERSION
  new DataView(out.buffer).setUint32(1, meshKey.epoch, false)
  const nonce = randomPooled(NONCE_LENGTH)
  out.set(nonce, EPOCH_HEADER_LENGTH)
  xchachaSealInto(meshKey.key, nonce, associatedData(out.subarray(0, EPOCH_HEADER_LENGTH), aad), plaintext, out, HEADER_LENGTH)
  return out
}

function associatedData(header: Uint8Array, aad: Uint8Array | undefined): Uint8Array {
  return aad === undefined || aad.length === 0 ? header : concatBytes(header, aad)
}

export function readSealedEpoch(sealed: Uint8Array): number {
  if (!(sealed instanceof Uint8Array) || sealed.length < HEADER_LENGTH + TAG_LENGTH) {
    throw new SealMalformedError('too short')
  }
  if (sealed[0] !== MESH_SEAL_VERSION) throw new SealMalformedError('unsupported version')
  return readU32be(sealed, 1)
}

export function openWithMeshKey(
  keys: (epoch: number) => MeshKey | undefined,
  sealed: Uint8Array,
  aad?: Uint8Array,
): { epoch: number; plaintext: Uint8Array } {
  const epoch = readSealedEpoch(sealed)
  const meshKey = keys(epoch)
  if (meshKey === undefined) throw new MeshKeyUnknownEpochError(epoch)
  assertMeshKey(meshKey)
  const header = sealed.subarray(0, EPOCH_HEADER_LENGTH)
  const nonce = sealed.subarray(EPOCH_HEADER_LENGTH, HEADER_LENGTH)
  const ciphertext = sealed.subarray(HEADER_LENGTH)
  try {
    const plaintext = xchachaOpen(meshKey.key, nonce, associatedData(header, aad), ciphertext)
    return { epoch, plaintext }
  } catch (cause) {
    throw new SealOpenFailedError({ cause })
  }
}
