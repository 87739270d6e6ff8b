/** Typed errors of the sessions concern. Codes are API: never renamed. */

export type SessionErrorCode =
  | 'SESSION_NOT_INSTALLED'
  | 'SESSION_NOT_LOGGED_IN'
  | 'SESSION_USAGE_LIMIT'
  | 'SESSION_TIMEOUT'
  | 'SESSION_CRASHED'
  | 'SESSION_CANCELLED'
  | 'SESSION_RUNNER_STOPPED'

/** The same codes as a list, for the exhaustive code map in node/. */
export const SESSION_ERROR_CODES = [
  'SESSION_NOT_INSTALLED',
  'SESSION_NOT_LOGGED_IN',
  'SESSION_USAGE_LIMIT',
  'SESSION_TIMEOUT',
  'SESSION_CRASHED',
  'SESSION_CANCELLED',
  'SESSION_RUNNER_STOPPED',
] as const satisfies readonly SessionErrorCode[]

export class SessionError extends Error {
  readonly code: SessionErrorCode
  /** The Claude session id, once the process announced one. */
  readonly sessionId: string | undefined
  constructor(code: SessionErrorCode, message: string, sessionId: string | undefined, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.sessionId = sessionId
    this.name = new.target.name
  }
}

/** The configured command could not be started: it is not on PATH or not executable. */
export class SessionNotInstalledError extends SessionError {
  readonly command: string
  constructor(command: string, options?: { cause?: unknown }) {
    super('SESSION_NOT_INSTALLED', `cannot run ${JSON.stringify(command)}: install Claude Code (npm install -g @anthropic-ai/claude-code) or set sessions.command in config.json`, undefined, options)
    this.command = command
  }
}

/** Claude Code answered that it has no valid login on this machine. */
export class SessionNotLoggedInError extends SessionError {
  constructor(sessionId: string | undefined) {
    super('SESSION_NOT_LOGGED_IN', 'Claude Code is not logged in on this machine: run `claude` once and log in (or set ANTHROPIC_API_KEY for the node)', sessionId)
  }
}

/** Claude Code refused for a usage limit; `resetAt` (ms since the epoch) when it said when. */
export class SessionUsageLimitError extends SessionError {
  readonly resetAt: number | null
  constructor(sessionId: string | undefined, resetAt: number | null) {
    super('SESSION_USAGE_LIMIT', resetAt === null ? 'Claude usage limit reached; it did not say when it resets' : `Claude usage limit reached until ${new Date(resetAt).toISOString()}`, sessionId)
    this.resetAt = resetAt
  }
}

/** A turn ran past its time and its process group was terminated. */
export class SessionTimeoutError extends SessionError {
  readonly timeoutMs: number
  constructor(sessionId: string | undefined, timeoutMs: number) {
    super('SESSION_TIMEOUT', `the session did not answer within ${timeoutMs} ms; it was stopped`, sessionId)
    this.timeoutMs = timeoutMs
  }
}

/** The process ended without a result, exited non-zero, reported an error, or wrote a stream we cannot read. */
export class SessionCrashedError extends SessionError {
  readonly exitCode: number | null
  readonly signal: string | null
  constructor(sessionId: string | undefined, reason: string, exit: { code: number | null; signal: string | null } = { code: null, signal: null }, options?: { cause?: unknown }) {
    super('SESSION_CRASHED', `the session failed: ${reason}`, sessionId, options)
    this.exitCode = exit.code
    this.signal = exit.signal
  }
}

/** The caller cancelled the turn (its signal aborted, or sessions stop was asked). */
export class SessionCancelledError extends SessionError {
  constructor(sessionId: string | undefined) {
    super('SESSION_CANCELLED', 'the session was cancelled', sessionId)
  }
}

/** The runner was stopped; it takes no more turns. */
export class SessionRunnerStoppedError extends SessionError {
  constructor() {
    super('SESSION_RUNNER_STOPPED', 'the session runner is stopped', undefined)
  }
}
