/**
 * The signed envelope every roster entry is stored in, and the two kinds of record kept
 * beside the events: each machine's own address list and the sealed mesh key epochs.
 *
 *   stored bytes = UTF-8 JSON {"body":"<canonical body JSON>","sig":"<base64url Ed25519>"}
 *   signature    = ed25519(domainSeparated(context, utf8(body)))
 *
 * Decoders re-encode what they parsed and refuse bytes that differ, so one entry has one
 * byte form. They throw RosterEventInvalidError and nothing else, whatever the input.
 */
import type * as Y from 'yjs'
import { z } from 'zod'
import {
  domainSeparated,
  fromBase64Url,
  fromHex,
  keyPairFromSeed,
  openSealed,
  sealTo,
  sign,
  toBase64Url,
  toHex,
  verify,
  x25519PublicFromEd25519,
} from '../identity/index.js'
import type { MeshKey } from '../identity/index.js'
import { RosterEventInvalidError, RosterNotMemberError, RosterSignerRemovedError } from './errors.js'

export const ADDRESSES_CONTEXT = 'instar/roster-addresses/v1'
export const MESH_KEY_RECORD_CONTEXT = 'instar/roster-mesh-key/v1'
export const MAX_ADDRESSES = 16
export const MAX_ADDRESS_LENGTH = 256
const MAX_RECORD_BYTES = 262_144

export const hex64 = z.string().regex(/^[0-9a-f]{64}$/)
export const timestamp = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const envelopeSchema = z.strictObject({ body: z.string(), sig: z.string() })

export interface SignedEntry<T> {
  body: T
  /** Signature, lowercase hex. */
  sig: string
}

/** Signs `bodyText` under `context` and wraps it in the stored envelope form. */
export function sealEnvelope(context: string, seed: Uint8Array, bodyText: string): Uint8Array {
  const sig = sign(seed, domainSeparated(context, utf8Encoder.encode(bodyText)))
  return utf8Encoder.encode(JSON.stringify({ body: bodyText, sig: toBase64Url(sig) }))
}

export interface EntryCodec<T> {
  context: string
  maxBytes: number
  schema: z.ZodType<T>
  /** The body rebuilt in its one fixed key order. */
  canonical: (body: T) => T
  signer: (body: T) => string
}

/** Parses, checks canonical form, then verifies the signature by the key the body names. */
export function openEnvelope<T>(stored: Uint8Array, codec: EntryCodec<T>): SignedEntry<T> {
  try {
    if (!(stored instanceof Uint8Array)) throw new RosterEventInvalidError('not bytes')
    if (stored.length > codec.maxBytes) throw new RosterEventInvalidError(`larger than ${codec.maxBytes} bytes`)
    const text = utf8Decoder.decode(stored)
    const envelope = envelopeSchema.safeParse(JSON.parse(text))
    if (!envelope.success) throw new RosterEventInvalidError('envelope is not {body, sig}')
    const { body: bodyText, sig: sigText } = envelope.data
    if (JSON.stringify({ body: bodyText, sig: sigText }) !== text) throw new RosterEventInvalidError('envelope is not canonical')
    const sig = fromBase64Url(sigText)
    const parsed = codec.schema.safeParse(JSON.parse(bodyText))
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new RosterEventInvalidError(`field ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`)
    }
    if (JSON.stringify(codec.canonical(parsed.data)) !== bodyText) throw new RosterEventInvalidError('body is not canonical')
    const message = domainSeparated(codec.context, utf8Encoder.encode(bodyText))
    if (!verify(fromHex(codec.signer(parsed.data)), message, sig)) throw new RosterEventInvalidError('signature does not verify')
    return { body: parsed.data, sig: toHex(sig) }
  } catch (err) {
    if (err instanceof RosterEventInvalidError) throw err
    throw new RosterEventInvalidError('undecodable', { cause: err })
  }
}

/** A machine's own signed list of the addresses it can be dialled on. */
export interface AddressRecordBody {
  v: 1
  publicKey: string
  addresses: string[]
  at: number
}

/** One mesh key epoch sealed to each member: peer id → base64url sealed box. */
export interface MeshKeyRecordBody {
  v: 1
  epoch: number
  signer: string
  at: number
  boxes: Record<string, string>
}

const addressCodec: EntryCodec<AddressRecordBody> = {
  context: ADDRESSES_CONTEXT,
  maxBytes: MAX_RECORD_BYTES,
  schema: z.strictObject({
    v: z.literal(1),
    publicKey: hex64,
    addresses: z.array(z.string().min(1).max(MAX_ADDRESS_LENGTH)).max(MAX_ADDRESSES),
    at: timestamp,
  }),
  canonical: (b) => ({ v: 1, publicKey: b.publicKey, addresses: [...b.addresses], at: b.at }),
  signer: (b) => b.publicKey,
}

const meshKeyCodec: EntryCodec<MeshKeyRecordBody> = {
  context: MESH_KEY_RECORD_CONTEXT,
  maxBytes: MAX_RECORD_BYTES,
  schema: z.strictObject({
    v: z.literal(1),
    epoch: z.number().int().min(1).max(0xffff_ffff),
    signer: hex64,
    at: timestamp,
    boxes: z.record(z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{40,64}$/), z.string().regex(/^[A-Za-z0-9_-]{1,512}$/)),
  }),
  canonical: (b) => {
    const boxes: Record<string, string> = {}
    for (const peerId of Object.keys(b.boxes).sort()) boxes[peerId] = b.boxes[peerId] as string
    return { v: 1, epoch: b.epoch, signer: b.signer, at: b.at, boxes }
  },
  signer: (b) => b.signer,
}

export const decodeAddressRecord = (stored: Uint8Array): SignedEntry<AddressRecordBody> => openEnvelope(stored, addressCodec)
export const decodeMeshKeyRecord = (stored: Uint8Array): SignedEntry<MeshKeyRecordBody> => openEnvelope(stored, meshKeyCodec)

function meshKeyAad(meshId: string, epoch: number): Uint8Array {
  return utf8Encoder.encode(`instar/mesh-key/v1|${meshId}|${epoch}`)
}

export interface RosterRecordsDeps {
  addresses: Y.Map<Uint8Array>
  keys: Y.Map<Uint8Array>
  meshId: string
  /** Current members, keyed by Ed25519 public key hex. */
  members: () => ReadonlyMap<string, unknown>
  /** Whether the machine with this public key hex was removed. */
  removed: (publicKeyHex: string) => boolean
  /**
   * Whether the machine of this peer id is a member or the witness, or was removed (a record
   * of any other machine is refused before its signature is checked); every peer id is by
   * default, and `members` decides after the check.
   */
  known?: (peerId: string) => boolean
  peerOf: (publicKeyHex: string) => string
}

/** Reads and writes the address and mesh key maps; membership checks on callers stay in roster.ts. */
export function createRosterRecords(deps: RosterRecordsDeps) {
  const { addresses, keys, meshId, members, removed, peerOf } = deps
  const cache = new WeakMap<Uint8Array, SignedEntry<unknown> | null>()
  const read = <T>(bytes: Uint8Array | undefined, codec: EntryCodec<T>): SignedEntry<T> | null => {
    if (!(bytes instanceof Uint8Array)) return null
    if (!cache.has(bytes)) {
      try {
        cache.set(bytes, openEnvelope(bytes, codec))
      } catch {
        cache.set(bytes, null)
      }
    }
    return (cache.get(bytes) ?? null) as SignedEntry<T> | null
  }
  const addressRecord = (peerId: string): SignedEntry<AddressRecordBody> | null => {
    const record = read(addresses.get(peerId), addressCodec)
    return record !== null && peerOf(record.body.publicKey) === peerId ? record : null
  }
  /** Counts only while its signer is a member: a removed machine knows every key it sealed. */
  const keyRecord = (epoch: string): SignedEntry<MeshKeyRecordBody> | null => {
    const record = read(keys.get(epoch), meshKeyCodec)
    if (record === null || String(record.body.epoch) !== epoch) return null
    return members().has(record.body.signer) ? record : null
  }
  const newer = (a: SignedEntry<AddressRecordBody>, b: SignedEntry<AddressRecordBody> | null): boolean =>
    b === null || a.body.at > b.body.at || (a.body.at === b.body.at && a.sig < b.sig)

  return {
    publishAddresses(seed: Uint8Array, list: string[], now: number): void {
      const publicKey = toHex(keyPairFromSeed(seed).publicKey)
      const peerId = peerOf(publicKey)
      const previous = addressRecord(peerId)
      // Our new record must beat our last one even if the clock stepped back.
      const at = previous === null ? now : Math.max(now, previous.body.at + 1)
      const bytes = sealEnvelope(ADDRESSES_CONTEXT, seed, JSON.stringify(addressCodec.canonical({ v: 1, publicKey, addresses: list, at })))
      decodeAddressRecord(bytes) // refuses too many or too long addresses before anything is written
      addresses.set(peerId, bytes)
    },
    addressesOf: (peerId: string): string[] => [...(addressRecord(peerId)?.body.addresses ?? [])],
    publishMeshKey(signerSeed: Uint8Array, key: MeshKey, now: number): void {
      if (!Number.isInteger(key.epoch) || key.epoch < 1 || key.epoch > 0xffff_ffff || key.key.length !== 32) {
        throw new RosterEventInvalidError('a mesh key needs an epoch from 1 to 4294967295 and 32 key bytes')
      }
      if (keyRecord(String(key.epoch)) !== null) throw new RosterEventInvalidError(`mesh key epoch ${key.epoch} is already published`)
      const boxes: Record<string, string> = {}
      for (const publicKey of members().keys()) {
        const box = sealTo(x25519PublicFromEd25519(fromHex(publicKey)), key.key, meshKeyAad(meshId, key.epoch))
        boxes[peerOf(publicKey)] = toBase64Url(box)
      }
      const signer = toHex(keyPairFromSeed(signerSeed).publicKey)
      const body = meshKeyCodec.canonical({ v: 1, epoch: key.epoch, signer, at: now, boxes })
      const bytes = sealEnvelope(MESH_KEY_RECORD_CONTEXT, signerSeed, JSON.stringify(body))
      decodeMeshKeyRecord(bytes)
      keys.set(String(key.epoch), bytes)
    },
    meshKeysFor(seed: Uint8Array): MeshKey[] {
      const pair = keyPairFromSeed(seed)
      const peerId = peerOf(toHex(pair.publicKey))
      const found: MeshKey[] = []
      for (const epoch of keys.keys()) {
        const box = keyRecord(epoch)?.body.boxes[peerId]
        if (box === undefined) continue
        try {
          found.push({ epoch: Number(epoch), key: openSealed(pair.x25519SecretKey, fromBase64Url(box), meshKeyAad(meshId, Number(epoch))) })
        } catch {
          continue // sealed to another key or altered: not ours to open
        }
      }
      return found.sort((a, b) => a.epoch - b.epoch)
    },
    latestEpoch(): number {
      let latest = 0
      for (const epoch of keys.keys()) if (keyRecord(epoch) !== null) latest = Math.max(latest, Number(epoch))
      return latest
    },
    /**
     * Verifies a remote address entry and keeps it if it is newer; throws if it does not
     * verify, or its machine was removed or is no participant (anyone can sign a record of
     * its own: kept, they would grow every copy of the roster without bound).
     */
    mergeAddress(key: string, bytes: Uint8Array): void {
      // Before the signature: checking it is what a flood of strangers' records would cost.
      if (deps.known !== undefined && !deps.known(key)) throw new RosterNotMemberError(key, 'its address record is refused')
      const record = decodeAddressRecord(bytes)
      if (peerOf(record.body.publicKey) !== key) throw new RosterEventInvalidError('map key is not the signer peer id')
      if (removed(record.body.publicKey)) throw new RosterSignerRemovedError(key, 'its address record is refused')
      if (newer(record, addressRecord(key))) addresses.set(key, bytes)
    },
    /** Verifies a remote key entry by a current member; of two for one epoch the lower signature wins everywhere. */
    mergeMeshKey(key: string, bytes: Uint8Array): void {
      const record = decodeMeshKeyRecord(bytes)
      if (String(record.body.epoch) !== key) throw new RosterEventInvalidError('map key is not the epoch')
      if (removed(record.body.signer)) throw new RosterSignerRemovedError(peerOf(record.body.signer), 'its mesh key record is refused')
      if (!members().has(record.body.signer)) throw new RosterNotMemberError(peerOf(record.body.signer), 'its mesh key record is ignored')
      const current = keyRecord(key)
      if (current === null || record.sig < current.sig) keys.set(key, bytes)
    },
  }
}

export type RosterRecords = ReturnType<typeof createRosterRecords>
