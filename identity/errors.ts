/**
 * Typed errors of the identity concern. Codes are API: never renamed. No message or field
 * ever carries key material, plaintext or token contents.
 */

/** Every code an identity error carries. */
export const IDENTITY_ERROR_CODES = [
  'IDENTITY_KEY_INVALID',
  'IDENTITY_ENCODING_INVALID',
  'IDENTITY_SEAL_MALFORMED',
  'IDENTITY_SEAL_OPEN_FAILED',
  'IDENTITY_UNKNOWN_EPOCH',
  'IDENTITY_TOKEN_MALFORMED',
  'IDENTITY_TOKEN_ENCODE_FAILED',
  'IDENTITY_TOKEN_SIGNATURE_INVALID',
  'IDENTITY_TOKEN_EXPIRED',
  'IDENTITY_TOKEN_SIGNER_MISMATCH',
  'IDENTITY_KEY_FILE_EXISTS',
  'IDENTITY_KEY_FILE_MISSING',
  'IDENTITY_KEY_FILE_CORRUPT',
  'IDENTITY_KEY_FILE_PERMISSIONS',
  'IDENTITY_KEY_FILE_READ_FAILED',
  'IDENTITY_KEY_FILE_WRITE_FAILED',
] as const
export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number]

/** The base of every identity error; only its subclasses are built, one per code. */
export abstract class IdentityError extends Error {
  readonly code: IdentityErrorCode
  constructor(code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A seed, public key, secret key or mesh key has the wrong length or is not a valid point. */
export class IdentityKeyInvalidError extends IdentityError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('IDENTITY_KEY_INVALID', `${what}.`, options)
  }
}

/** Bytes or text are not valid base64url or hex. */
export class EncodingError extends IdentityError {
  readonly encoding: 'base64url' | 'hex'
  constructor(encoding: 'base64url' | 'hex', reason: string) {
    super('IDENTITY_ENCODING_INVALID', `Input is not valid ${encoding}: ${reason}.`)
    this.encoding = encoding
  }
}

/** A sealed box or mesh-sealed message has an unknown version or is too short to parse. */
export class SealMalformedError extends IdentityError {
  readonly reason: string
  constructor(reason: string) {
    super('IDENTITY_SEAL_MALFORMED', `Sealed message is malformed: ${reason}.`)
    this.reason = reason
  }
}

/** Authentication failed: wrong key, wrong aad, or the sealed bytes were altered. */
export class SealOpenFailedError extends IdentityError {
  constructor(options?: { cause?: unknown }) {
    super(
      'IDENTITY_SEAL_OPEN_FAILED',
      'Sealed message could not be opened: wrong key, wrong associated data, or altered bytes.',
      options,
    )
  }
}

/** A mesh-sealed message names an epoch whose key this machine does not hold. */
export class MeshKeyUnknownEpochError extends IdentityError {
  readonly epoch: number
  constructor(epoch: number) {
    super('IDENTITY_UNKNOWN_EPOCH', `No mesh key is known for epoch ${epoch}.`)
    this.epoch = epoch
  }
}

/** What was wrong with a token that could not be parsed or does not fit the caller's request. */
export type TokenMalformedReason =
  | 'bad prefix'
  | 'bad base64'
  | 'too large'
  | 'truncated'
  | 'trailing bytes'
  | 'unsupported version'
  | 'bad json'
  | 'bad fields'
  | 'wrong kind'

/** A token could not be parsed, or is of another kind than the caller expects. */
export class TokenMalformedError extends IdentityError {
  readonly reason: TokenMalformedReason
  constructor(reason: TokenMalformedReason, options?: { cause?: unknown }) {
    super('IDENTITY_TOKEN_MALFORMED', `Token is malformed (${reason}).`, options)
    this.reason = reason
  }
}

/** A token could not be created (bad times or kind, payload not JSON-serializable). */
export class TokenEncodeError extends IdentityError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('IDENTITY_TOKEN_ENCODE_FAILED', `Token could not be created: ${reason}.`, options)
  }
}

/** The token's signature does not verify under the public key it carries. */
export class TokenSignatureInvalidError extends IdentityError {
  constructor() {
    super('IDENTITY_TOKEN_SIGNATURE_INVALID', 'Token signature is invalid.')
  }
}

/** The token is past its expiry time. */
export class TokenExpiredError extends IdentityError {
  readonly expiresAt: number
  readonly now: number
  constructor(expiresAt: number, now: number) {
    super('IDENTITY_TOKEN_EXPIRED', `Token expired at ${expiresAt} ms epoch (now is ${now}).`)
    this.expiresAt = expiresAt
    this.now = now
  }
}

/** The token is validly signed, but not by the key the caller expects. */
export class TokenSignerMismatchError extends IdentityError {
  constructor() {
    super('IDENTITY_TOKEN_SIGNER_MISMATCH', 'Token is signed by a different key than expected.')
  }
}

/** A key file already exists and overwrite was not requested. */
export class KeyFileExistsError extends IdentityError {
  readonly path: string
  constructor(path: string) {
    super('IDENTITY_KEY_FILE_EXISTS', `Key file ${path} already exists; refusing to overwrite it.`)
    this.path = path
  }
}

/** A key file does not exist. */
export class KeyFileMissingError extends IdentityError {
  readonly path: string
  constructor(path: string, options?: { cause?: unknown }) {
    super('IDENTITY_KEY_FILE_MISSING', `Key file ${path} does not exist.`, options)
    this.path = path
  }
}

/** What was wrong with a key file's contents. */
export type KeyFileCorruptReason =
  | 'empty'
  | 'truncated'
  | 'not json'
  | 'too large'
  | 'wrong type'
  | 'wrong kind'
  | 'unsupported version'
  | 'bad encoding'
  | 'wrong seed length'
  | 'bad mesh keys'

/** A key file exists but its contents are not a valid instar key file of the expected kind. */
export class KeyFileCorruptError extends IdentityError {
  readonly path: string
  readonly reason: KeyFileCorruptReason
  constructor(path: string, reason: KeyFileCorruptReason) {
    super('IDENTITY_KEY_FILE_CORRUPT', `Key file ${path} is corrupt (${reason}).`)
    this.path = path
    this.reason = reason
  }
}

/** A key file that must be private is readable or writable by group or others. */
export class KeyFilePermissionsError extends IdentityError {
  readonly path: string
  readonly mode: number
  constructor(path: string, mode: number) {
    super(
      'IDENTITY_KEY_FILE_PERMISSIONS',
      `Key file ${path} has mode ${formatMode(mode)}, open to group or others; run chmod 600 on it.`,
    )
    this.path = path
    this.mode = mode
  }
}

/** A key file or its directory could not be read (permission denied, is a directory, I/O error). */
export class KeyFileReadError extends IdentityError {
  readonly path: string
  constructor(path: string, options?: { cause?: unknown }) {
    super('IDENTITY_KEY_FILE_READ_FAILED', `Key file ${path} could not be read.`, options)
    this.path = path
  }
}

/** A key file or its directory could not be written (permission denied, disk full, I/O error). */
export class KeyFileWriteError extends IdentityError {
  readonly path: string
  constructor(path: string, options?: { cause?: unknown }) {
    super('IDENTITY_KEY_FILE_WRITE_FAILED', `Key file ${path} could not be written.`, options)
    this.path = path
  }
}

/** Permission bits as the familiar octal string, e.g. 0644. */
export function formatMode(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0')
}
