/**
 * identity: machine and agent keys (Ed25519, with X25519 twins), the keystore files that
 * hold them (0600 in a 0700 directory), sealed boxes to a member's X25519 key, the
 * epoch-numbered mesh key, signed expiring tokens (invitations), fingerprints and short
 * authentication strings. Depends on @noble/* and node builtins only; never reads a clock.
 *
 *   const machine = keyPairFromSeed(loadSeed(join(home, 'keys/machine.json'), 'machine').seed)
 *   const box = sealTo(x25519PublicFromEd25519(peerPublicKey), secretBytes)
 *   const invite = signToken(agentSeed, { secret }, { issuedAt: now, expiresAt: now + 900_000, kind: 'invite' })
 */

/** Raw bytes. */
export type Bytes = Uint8Array

/**
 * Ed25519 keys from a 32-byte seed, plus the X25519 pair derived from the same seed.
 * - `generateSeed()`: 32 random bytes from the platform CSPRNG.
 * - `keyPairFromSeed(seed)`: throws `IdentityKeyInvalidError` unless the seed is 32 bytes.
 * - `x25519PublicFromEd25519(publicKey)`: a member's X25519 key from its Ed25519 key; throws
 *   `IdentityKeyInvalidError` for a wrong length or a non-point.
 * - `sign(seed, message)`: Ed25519 signature (64 bytes); throws `IdentityKeyInvalidError`.
 * - `verify(publicKey, message, signature)`: strict RFC 8032; never throws, returns false on
 *   anything malformed.
 */
export { generateSeed, keyPairFromSeed, sign, verify, x25519PublicFromEd25519 } from './keys.js'
export type { KeyPair } from './keys.js'

/**
 * - `domainSeparated(context, ...parts)`: u32 BE length + bytes for the UTF-8 context and for
 *   each part; the input of every signature and transcript hash, so no two different
 *   (context, parts) lists frame to the same bytes.
 * - `hmacSha256(key, message)`, `hkdfSha256(ikm, salt, info, length)`: thin wrappers.
 */
export { domainSeparated, hkdfSha256, hmacSha256 } from './hashing.js'

/**
 * - `toBase64Url` / `fromBase64Url`: url-safe, unpadded; decoding is strict (no padding, no
 *   whitespace, canonical) and throws `EncodingError`.
 * - `toHex` / `fromHex`: lowercase out, either case in; throws `EncodingError`.
 * - `constantTimeEqual(a, b)`: timing depends only on the lengths.
 */
export { constantTimeEqual, fromBase64Url, fromHex, toBase64Url, toHex } from './encoding.js'

/**
 * Anonymous sealed boxes: `0x01 || ephemeral X25519 public || nonce(24) || XChaCha20-Poly1305`.
 * - `sealTo(recipientX25519Public, plaintext, aad?)`: throws `IdentityKeyInvalidError` for a
 *   wrong-length or low-order recipient key.
 * - `openSealed(recipientX25519Secret, box, aad?)`: throws `SealMalformedError` (too short,
 *   unknown version) or `SealOpenFailedError` (wrong key, wrong aad, altered bytes,
 *   low-order ephemeral key).
 */
export { openSealed, sealTo } from './sealed-box.js'

/**
 * The epoch-numbered symmetric mesh key: `0x01 || epoch u32 BE || nonce(24) || ciphertext`,
 * with the 5 header bytes authenticated together with the caller's aad.
 * - `generateMeshKey(epoch)`: epoch must be a u32, else `IdentityKeyInvalidError`.
 * - `readSealedEpoch(sealed)`: the epoch in the header, unauthenticated; `SealMalformedError`.
 * - `openWithMeshKey(keys, sealed, aad?)`: looks the key up by the header's epoch; throws
 *   `MeshKeyUnknownEpochError`, `SealMalformedError` or `SealOpenFailedError`.
 */
export { generateMeshKey, openWithMeshKey, readSealedEpoch, sealWithMeshKey } from './mesh-key.js'

/**
 * `randomPooled(length)`: fresh CSPRNG bytes through a 4 KiB pool (one platform call per pool,
 * each byte handed out once); for the many small draws of a busy node (nonces, ids).
 */
export { randomPooled } from './random.js'
export type { MeshKey } from './mesh-key.js'

/**
 * Signed expiring tokens: `instar1.` + base64url of version || signer || json length || JSON
 * `{kind, iat, exp, payload}` || Ed25519 signature over
 * `domainSeparated("instar/token/v1", everything before it)`.
 * - `signToken(seed, payload, { issuedAt, expiresAt, kind })`: throws `TokenEncodeError` for
 *   bad times, an empty kind or an unserializable payload.
 * - `verifyToken(token, { now, kind, signer?, maxBytes? })`: ignores whitespace anywhere;
 *   throws `TokenMalformedError` (with `reason`), `TokenSignatureInvalidError`,
 *   `TokenSignerMismatchError` or `TokenExpiredError` (expired when `now >= expiresAt`).
 *   The signature is checked before any JSON field is read.
 */
export { DEFAULT_TOKEN_MAX_BYTES, TOKEN_PREFIX, signToken, verifyToken } from './token.js'
export type { SignTokenOptions, VerifiedToken, VerifyTokenOptions } from './token.js'

/**
 * `fingerprint(publicKey)`: 24 lowercase Crockford base32 characters of SHA-256(key), in six
 * dash-joined groups of four, e.g. `k7qm-3x2a-9dfe-h0r1-vnw4-tt5b`.
 */
export { fingerprint } from './fingerprint.js'

/** `shortAuthString(transcript)`: six decimal digits as "123 456", from SHA-256 of the transcript. */
export { shortAuthString } from './short-auth-string.js'

/**
 * Key files `{"type":"instar-key","kind","version":1,"data"}`, 0600 in a 0700 directory,
 * written atomically.
 * - `writeKeyFile(path, kind, content, { overwrite? })`: machine and agent content must be a
 *   32-byte seed (`IdentityKeyInvalidError`); an existing file without overwrite is
 *   `KeyFileExistsError`; I/O failure is `KeyFileWriteError`.
 * - `readKeyFile(path, kind)`: `KeyFileMissingError`, `KeyFileCorruptError` (with `reason`),
 *   `KeyFileReadError`; group/other mode bits are `KeyFilePermissionsError` for an agent
 *   key and a returned warning for the other kinds.
 * - `saveSeed`/`loadSeed` for machine and agent seeds, `saveMeshKeys`/`loadMeshKeys` for the
 *   list of mesh key epochs; same errors.
 */
export { loadMeshKeys, loadSeed, readKeyFile, saveMeshKeys, saveSeed, writeKeyFile } from './keystore.js'
export type { KeyFileKind, KeyFileWarning, SeedKind, WriteKeyFileOptions } from './keystore.js'

export {
  EncodingError,
  IdentityError,
  IdentityKeyInvalidError,
  KeyFileCorruptError,
  KeyFileExistsError,
  KeyFileMissingError,
  KeyFilePermissionsError,
  KeyFileReadError,
  KeyFileWriteError,
  MeshKeyUnknownEpochError,
  SealMalformedError,
  SealOpenFailedError,
  TokenEncodeError,
  TokenExpiredError,
  TokenMalformedError,
  TokenSignatureInvalidError,
  TokenSignerMismatchError,
} from './errors.js'
export { IDENTITY_ERROR_CODES } from './errors.js'
export type { IdentityErrorCode, KeyFileCorruptReason, TokenMalformedReason } from './errors.js'
