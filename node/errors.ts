/**
 * Typed errors of the node concern, and the one place where every error code of every
 * concern is mapped to an HTTP status and a CLI exit code.
 */

export class NodeError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** config.json is missing, not JSON, or has a bad field (named in the message). */
export class ConfigInvalidError extends NodeError {
  readonly path: string
  readonly field: string | null
  constructor(path: string, field: string | null, reason: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', `${path}: ${field === null ? '' : `field "${field}": `}${reason}`, options)
    this.path = path
    this.field = field
  }
}

/** The data directory has not been initialised (`instar init`). */
export class HomeNotInitializedError extends NodeError {
  readonly home: string
  constructor(home: string) {
    super('HOME_NOT_INITIALIZED', `${home} is not an instar data directory; run "instar init --home ${home}" first`)
    this.home = home
  }
}

/** `instar init` over a data directory that already holds keys, without --force. */
export class HomeAlreadyInitializedError extends NodeError {
  readonly home: string
  constructor(home: string, file: string) {
    super(
      'HOME_ALREADY_INITIALIZED',
      `${home} already holds ${file}; refusing to replace it (use --force to replace the keys: this machine then gets a new identity)`,
    )
    this.home = home
  }
}

/** Another node already runs on this data directory. */
export class NodeAlreadyRunningError extends NodeError {
  readonly pid: number
  constructor(home: string, pid: number) {
    super('NODE_ALREADY_RUNNING', `a node is already running on ${home} (pid ${pid}); stop it first with "instar node stop --home ${home}"`)
    this.pid = pid
  }
}

/** No node runs on this data directory. */
export class NodeNotRunningError extends NodeError {
  constructor(home: string) {
    super('NODE_NOT_RUNNING', `no node is running on ${home} (start one with "instar node start --home ${home}")`)
  }
}

/** The node did not come up or go down in time, or its API answered with an error. */
export class NodeApiError extends NodeError {
  readonly status: number
  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.status = status
  }
}

/** The API port could not be bound. */
export class ApiListenError extends NodeError {
  readonly port: number
  constructor(port: number, reason: string, options?: { cause?: unknown }) {
    super('API_LISTEN_FAILED', `cannot serve the API on 127.0.0.1:${port}: ${reason}`, options)
    this.port = port
  }
}

/** A CLI argument has a bad value (flags commander does not know are refused by it). */
export class UsageError extends NodeError {
  constructor(message: string) {
    super('USAGE', message)
  }
}

const httpStatus: Record<string, number> = {
  API_BAD_REQUEST: 400,
  API_UNAUTHORIZED: 401,
  API_NOT_FOUND: 404,
  USAGE: 400,
  CONFIG_INVALID: 400,
}

const httpStatusByPrefix: Array<[string, number]> = [
  ['ROSTER_MEMBER_NOT_FOUND', 404],
  ['MEMORY_ENTRY_NOT_FOUND', 404],
  ['PERSON_NOT_FOUND', 404],
  ['JOB_NOT_FOUND', 404],
  ['SECRET_NOT_FOUND', 404],
  ['CRDT_INPUT_INVALID', 400],
  ['CHANNEL_NOT_CONFIGURED', 404],
  ['CHANNEL_CONVERSATION_NOT_FOUND', 404],
  ['CHANNEL_WEBHOOK_ACTIVE', 409],
  ['CHANNEL_UNREACHABLE', 502],
  ['CHANNEL_PLATFORM_ERROR', 502],
  ['CHANNEL_', 400],
  ['PAIRING_ALREADY_MEMBER', 409],
  ['MESH_NOT_MEMBER', 409],
  ['PAIRING_INVITER_UNREACHABLE', 502],
  ['PAIRING_NO_ANSWER', 502],
  ['PAIRING_', 400],
  ['ROSTER_', 400],
  ['IDENTITY_TOKEN_', 400],
]

/** HTTP status for an error code; unknown codes are server errors. */
export function httpStatusFor(code: string): number {
  const exact = httpStatus[code]
  if (exact !== undefined) return exact
  for (const [prefix, status] of httpStatusByPrefix) if (code.startsWith(prefix)) return status
  return 500
}

const exitCodes: Record<string, number> = {
  USAGE: 2,
  API_BAD_REQUEST: 2,
}

/** CLI exit code for an error code: 2 for usage, 1 for everything else. */
export function exitCodeFor(code: string): number {
  return exitCodes[code] ?? 1
}

/** The stable code of any error, ours or foreign. */
export function codeOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code
  return 'INTERNAL'
}
