/**
 * Typed errors of the node concern. Every error code of every concern is mapped to an HTTP
 * status and a CLI exit code once, in error-codes.ts.
 */
import type { ErrorCode } from './error-codes.js'

/** Every code a node error carries. INTERNAL is the code of an error that is not ours. */
export const NODE_ERROR_CODES = [
  'CONFIG_INVALID',
  'HOME_NOT_INITIALIZED',
  'HOME_ALREADY_INITIALIZED',
  'AGENT_KEY_MISMATCH',
  'RELAY_HOME_IS_NODE',
  'NODE_ALREADY_RUNNING',
  'NODE_NOT_RUNNING',
  'NODE_START_FAILED',
  'NODE_STOP_TIMEOUT',
  'NODE_UNREACHABLE',
  'NODE_BAD_RESPONSE',
  'NODE_API_ERROR',
  'API_LISTEN_FAILED',
  'API_TOKEN_MISSING',
  'API_TOKEN_INVALID',
  'API_TOKEN_PERMISSIONS',
  'API_BAD_REQUEST',
  'API_UNAUTHORIZED',
  'API_NOT_FOUND',
  'USAGE',
  'INTERNAL',
] as const
export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number]

/** The base of every node error; only its subclasses are built, one per code. */
export abstract class NodeError extends Error {
  readonly code: NodeErrorCode
  constructor(code: NodeErrorCode, message: string, options?: { cause?: unknown }) {
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

/** The agent key file does not hold the agent key that config.json names. */
export class AgentKeyMismatchError extends NodeError {
  constructor(agentKeyPath: string, configPath: string) {
    super('AGENT_KEY_MISMATCH', `${agentKeyPath} does not hold the agent key that ${configPath} names (agent.publicKey); restore the right key file`)
  }
}

/** `instar relay start` on a data directory that holds a node, not a witness. */
export class RelayHomeIsNodeError extends NodeError {
  constructor(home: string) {
    super('RELAY_HOME_IS_NODE', `${home} holds a node, not a witness: give the witness a data directory of its own with --home (default ~/.instar-relay)`)
  }
}

/** The node process did not come up (its last log error, or the missing run file, says why). */
export class NodeStartFailedError extends NodeError {
  constructor(message: string) {
    super('NODE_START_FAILED', message)
  }
}

/** The node process did not stop in time. */
export class NodeStopTimeoutError extends NodeError {
  readonly pid: number
  constructor(what: string, pid: number) {
    super('NODE_STOP_TIMEOUT', `the ${what} (pid ${pid}) did not stop within 5 s; it may be stuck (kill ${pid})`)
    this.pid = pid
  }
}

/** The node's API did not answer (not running, or not reachable at the address its run file names). */
export class NodeUnreachableError extends NodeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NODE_UNREACHABLE', message, options)
  }
}

/** The node's API answered with something that is not JSON. */
export class NodeBadResponseError extends NodeError {
  readonly status: number
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super('NODE_BAD_RESPONSE', message, options)
    this.status = status
  }
}

/** api.token cannot be read. */
export class ApiTokenMissingError extends NodeError {
  constructor(path: string, options?: { cause?: unknown }) {
    super('API_TOKEN_MISSING', `cannot read ${path}; run "instar init" again with --force`, options)
  }
}

/** api.token does not hold 64 hex characters. */
export class ApiTokenInvalidError extends NodeError {
  constructor(path: string) {
    super('API_TOKEN_INVALID', `${path} does not hold a valid token (64 hex characters)`)
  }
}

/** api.token is readable by other users. */
export class ApiTokenPermissionsError extends NodeError {
  constructor(path: string, mode: number) {
    super('API_TOKEN_PERMISSIONS', `${path} is readable by other users (mode ${mode.toString(8)}); run "chmod 600 ${path}"`)
  }
}

/** A request the API refuses: a body or parameter that fails its schema, or a bad request of another kind. */
export class ApiBadRequestError extends NodeError {
  constructor(message: string) {
    super('API_BAD_REQUEST', message)
  }
}

/** A request without the right bearer token. */
export class ApiUnauthorizedError extends NodeError {
  constructor() {
    super('API_UNAUTHORIZED', 'missing or wrong bearer token (see api.token in the data directory)')
  }
}

/** A request for a route the API does not have. */
export class ApiNotFoundError extends NodeError {
  constructor(method: string, path: string) {
    super('API_NOT_FOUND', `no route ${method} ${path}`)
  }
}

/**
 * The node's API answered with an error. The code is the one the node reported (checked to be
 * one of ours, else NODE_API_ERROR): the CLI is the node's client and reports what it said, so
 * this class carries the codes of other classes across the HTTP boundary and makes none.
 */
export class NodeApiError extends Error {
  readonly code: ErrorCode
  readonly status: number
  constructor(code: ErrorCode, status: number, message: string) {
    super(message)
    this.code = code
    this.status = status
    this.name = new.target.name
  }
}

export { codeOf, exitCodeFor, httpStatusFor, isErrorCode } from './error-codes.js'
export type { ErrorCode } from './error-codes.js'
