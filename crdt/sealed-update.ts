/**
 * The sealed update codec: a Yjs update (V1 encoding) sealed with the mesh key before it is
 * stored or sent, so the same bytes can sit in state.db, cross a peer stream or wait in the
 * relay's mailbox.
 *
 *   sealed = sealWithMeshKey(meshKey, update, aad)       (0x01 || epoch u32 BE || nonce || ct)
 *   aad    = utf8("instar/update/v1|" + meshId + "|" + doc)
 *
 * The aad binds an update to its mesh and document: bytes sealed for `memory` do not open as
 * `jobs`, nor under another mesh's id. It is unambiguous because the document name is last and
 * never contains "|". Everything that can go wrong while opening is one error,
 * `SyncUpdateRejectedError`, with a reason a caller can act on.
 *
 * Opening does not parse the Yjs update inside. Whether a peer's update may be applied depends
 * on the document it is applied to (an item inherits its parent from its origin, which may be
 * in the document; its cost depends on what is there), so that check is made there, in
 * slices: Documents.applyRemote (remote-apply.ts). A check against an empty scratch document,
 * as was done here, let through everything whose parent it could not see.
 */
import { createHash } from 'node:crypto'
import {
  MeshKeyUnknownEpochError,
  SealMalformedError,
  SealOpenFailedError,
  openWithMeshKey,
  readSealedEpoch,
  sealWithMeshKey,
  type MeshKey,
} from '../identity/index.js'
import { ModelInputInvalidError, SyncUpdateRejectedError } from './errors.js'

export type DocName = 'memory' | 'relationships' | 'jobs' | 'channels' | 'secrets' | 'conversations'

export const DOC_NAMES: readonly DocName[] = Object.freeze(['memory', 'relationships', 'jobs', 'channels', 'secrets', 'conversations'])

const DOC_NAME_SET: ReadonlySet<string> = new Set(DOC_NAMES)

export function isDocName(x: string): x is DocName {
  return typeof x === 'string' && DOC_NAME_SET.has(x)
}

/** Largest plaintext `openUpdate` accepts by default (a step 2 is allowed its whole frame). */
export const MAX_UPDATE_BYTES = 8 * 1024 * 1024

// version (1) + epoch (4) + nonce (24) + Poly1305 tag (16), from identity/mesh-key.ts.
const SEAL_OVERHEAD = 1 + 4 + 24 + 16

const encoder = new TextEncoder()

/**
 * A packed seal (`packed`: the count of updates in it, see document-store.ts) is bound to that
 * count, so a row's count cannot be changed on disk without its seal failing to open.
 */
function updateAad(meshId: string, doc: DocName, packed?: number): Uint8Array {
  return encoder.encode(packed === undefined ? `instar/update/v1|${meshId}|${doc}` : `instar/update-pack/v1|${meshId}|${doc}|${packed}`)
}

export interface SealOptions {
  /** The plaintext packs this many updates (a state.db row of a group commit); bound into the seal. */
  packed?: number
}

function assertDocName(doc: string): asserts doc is DocName {
  if (!isDocName(doc)) throw new ModelInputInvalidError('doc', `"${String(doc)}" is not a document name`)
}

/** Seals a Yjs update for `doc` of mesh `meshId`; `ModelInputInvalidError` for an unknown doc. */
export function sealUpdate(key: MeshKey, meshId: string, doc: DocName, update: Uint8Array, options: SealOptions = {}): Uint8Array {
  assertDocName(doc)
  if (!(update instanceof Uint8Array)) throw new ModelInputInvalidError('update', 'must be a Uint8Array')
  return sealWithMeshKey(key, update, updateAad(meshId, doc, options.packed))
}

export interface OpenUpdateOptions extends SealOptions {
  /** Largest plaintext accepted; default `MAX_UPDATE_BYTES`. */
  maxBytes?: number
}

/**
 * Opens a sealed update. Throws only `SyncUpdateRejectedError`: 'unknown-epoch' (with
 * `epoch`), 'auth-failed' (tampered, wrong key, or sealed for another document or mesh),
 * 'malformed' (too short, bad version, over `maxBytes`), 'wrong-document' (`doc` is not a
 * document name). The plaintext is not parsed (see the header).
 */
export function openUpdate(
  keys: (epoch: number) => MeshKey | undefined,
  meshId: string,
  doc: DocName,
  sealed: Uint8Array,
  options: OpenUpdateOptions = {},
): { epoch: number; update: Uint8Array } {
  const { epoch, plaintext } = openSealed(keys, meshId, doc, sealed, options.maxBytes ?? MAX_UPDATE_BYTES, options.packed)
  return { epoch, update: plaintext }
}

/**
 * Opens `sealed` with `keys` and seals the same plaintext again under `newKey`, without
 * parsing it (a key rotation moves bytes, it does not judge them). Throws like `openUpdate`,
 * except that the plaintext is neither size-capped nor checked to be a Yjs update.
 */
export function resealUpdate(
  keys: (epoch: number) => MeshKey | undefined,
  newKey: MeshKey,
  meshId: string,
  doc: DocName,
  sealed: Uint8Array,
  options: SealOptions = {},
): Uint8Array {
  const { plaintext } = openSealed(keys, meshId, doc, sealed, Number.POSITIVE_INFINITY, options.packed)
  return sealWithMeshKey(newKey, plaintext, updateAad(meshId, doc, options.packed))
}

/** Hex SHA-256 of the sealed bytes: the id under which a replayed update is recognized. */
export function updateId(sealed: Uint8Array): string {
  return createHash('sha256').update(sealed).digest('hex')
}

function openSealed(
  keys: (epoch: number) => MeshKey | undefined,
  meshId: string,
  doc: DocName,
  sealed: Uint8Array,
  maxBytes: number,
  packed: number | undefined,
): { epoch: number; plaintext: Uint8Array } {
  if (!isDocName(doc)) throw new SyncUpdateRejectedError('wrong-document', `"${String(doc)}" is not a document name`)
  let epoch: number
  try {
    epoch = readSealedEpoch(sealed)
  } catch (cause) {
    if (cause instanceof SealMalformedError) throw new SyncUpdateRejectedError('malformed', cause.reason, { cause })
    throw cause
  }
  // Refuse an oversized update before spending a decryption on it.
  if (sealed.length - SEAL_OVERHEAD > maxBytes) {
    throw new SyncUpdateRejectedError('malformed', `the update is larger than ${maxBytes} bytes`, { epoch })
  }
  try {
    return openWithMeshKey(keys, sealed, updateAad(meshId, doc, packed))
  } catch (cause) {
    if (cause instanceof MeshKeyUnknownEpochError) {
      throw new SyncUpdateRejectedError('unknown-epoch', `no mesh key for epoch ${cause.epoch}`, { cause, epoch: cause.epoch })
    }
    if (cause instanceof SealOpenFailedError) {
      throw new SyncUpdateRejectedError('auth-failed', 'wrong key, altered bytes, or sealed for another document or mesh', { cause, epoch })
    }
    if (cause instanceof SealMalformedError) throw new SyncUpdateRejectedError('malformed', cause.reason, { cause, epoch })
    throw cause
  }
}
