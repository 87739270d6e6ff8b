/** Typed errors of the crdt concern. Codes are API: never renamed. */

export class CrdtError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The state database could not be opened or is not ours. */
export class StateDbOpenError extends CrdtError {
  readonly path: string
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('STATE_DB_OPEN_FAILED', `cannot open the state database ${path}: ${reason}`, options)
    this.path = path
  }
}

/** The database was written by a newer instar whose migrations this one does not know. */
export class StateDbTooNewError extends CrdtError {
  readonly path: string
  readonly version: number
  constructor(path: string, version: number, known: number) {
    super(
      'STATE_DB_TOO_NEW',
      `the state database ${path} is at schema version ${version}, but this instar knows only up to ${known}; upgrade instar`,
    )
    this.path = path
    this.version = version
  }
}
