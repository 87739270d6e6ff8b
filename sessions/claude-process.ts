/**
 * One Claude Code process: spawned with an argv (no shell) as the leader of its own process
 * group, user messages written to stdin as stream-json, stdout read as stream-json lines. A
 * turn is one message in and everything up to its `result` event out; one turn at a time.
 * Every stdout line goes to `<logDir>/<session>.events.jsonl` and stderr to
 * `<session>.stderr.log` (0600), which outlive the process. kill() terminates the group:
 * SIGTERM, then SIGKILL after `killGraceMs`, so the tools a session started die with it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import type { Clock, Logger } from '../runtime/index.js'
import { classifyFailure } from './claude-failure.js'
import { MAX_STREAM_LINE, StreamLineError, encodeUserMessage, parseStreamLine, type StreamEvent } from './claude-stream.js'
import { SessionCrashedError, SessionNotInstalledError, SessionNotLoggedInError, SessionUsageLimitError, type SessionError } from './errors.js'

export interface TurnOutcome {
  sessionId: string
  text: string
  costUsd: number | null
  durationMs: number | null
  numTurns: number | null
  usage: Extract<StreamEvent, { type: 'result' }>['usage']
}

export interface ClaudeProcessOptions {
  command: string
  argv: string[]
  /** The session id the process will report (a new one's, or the one resumed); names the log files. */
  sessionId: string
  logDir: string
  killGraceMs: number
  cwd?: string | undefined
  env?: NodeJS.ProcessEnv | undefined
}

export interface ClaudeProcess {
  readonly pid: number | undefined
  /** The id the process reported in its init event, else the one it was started with. */
  sessionId(): string
  /** Writes one user message (then ends stdin if `last`) and resolves at its result; rejects with a SessionError. */
  turn(text: string, last: boolean): Promise<TurnOutcome>
  /** Ends stdin, so that an idle process exits by itself. */
  close(): void
  /** Terminates the process group; resolves once the process has exited. */
  kill(): Promise<void>
  /** Resolves when the process has exited, with the error that ended it if it was not a clean exit. */
  readonly exited: Promise<void>
  isExited(): boolean
}

const STDERR_TAIL = 4096

export function startClaudeProcess(deps: { clock: Clock; logger: Logger }, o: ClaudeProcessOptions): ClaudeProcess {
  mkdirSync(o.logDir, { recursive: true, mode: 0o700 })
  const events: WriteStream = createWriteStream(join(o.logDir, `${o.sessionId}.events.jsonl`), { flags: 'a', mode: 0o600 })
  const stderrLog: WriteStream = createWriteStream(join(o.logDir, `${o.sessionId}.stderr.log`), { flags: 'a', mode: 0o600 })
  events.on('error', (err) => deps.logger.warn({ code: 'SESSION_LOG_FAILED', err: err.message }, 'cannot write a session event log'))
  stderrLog.on('error', (err) => deps.logger.warn({ code: 'SESSION_LOG_FAILED', err: err.message }, 'cannot write a session stderr log'))

  let reported = o.sessionId
  let stderrTail = ''
  let exitedFlag = false
  let fatal: SessionError | undefined
  let pending: { resolve: (o: TurnOutcome) => void; reject: (e: SessionError) => void } | undefined
  let lastText = ''
  let killTimer: { cancel(): void } | undefined

  const child: ChildProcess = spawn(o.command, o.argv, { cwd: o.cwd, env: o.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })

  const fail = (err: SessionError): void => {
    fatal ??= err
    const p = pending
    pending = undefined
    p?.reject(err)
  }

  const onEvent = (event: StreamEvent): void => {
    if (event.type === 'init') reported = event.sessionId
    else if (event.type === 'assistant') lastText = event.text
    else if (event.type === 'result') {
      const p = pending
      pending = undefined
      if (p === undefined) return
      const sessionId = event.sessionId ?? reported
      if (!event.isError) {
        p.resolve({ sessionId, text: event.text !== '' ? event.text : lastText, costUsd: event.costUsd, durationMs: event.durationMs, numTurns: event.numTurns, usage: event.usage })
        return
      }
      const failure = classifyFailure(event.text, event.subtype)
      if (failure.kind === 'not-logged-in') p.reject(new SessionNotLoggedInError(sessionId))
      else if (failure.kind === 'usage-limit') p.reject(new SessionUsageLimitError(sessionId, failure.resetAt))
      else p.reject(new SessionCrashedError(sessionId, failure.reason))
    }
  }

  const decoder = new StringDecoder('utf8')
  let buffer = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += decoder.write(chunk)
    for (;;) {
      const nl = buffer.indexOf('\n')
      if (nl < 0) break
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      events.write(`${line}\n`)
      try {
        const event = parseStreamLine(line)
        if (event !== null) onEvent(event)
      } catch (err) {
        fail(new SessionCrashedError(reported, err instanceof StreamLineError ? err.message : 'unreadable output', undefined, { cause: err }))
        void api.kill()
        return
      }
    }
    if (buffer.length > MAX_STREAM_LINE) {
      fail(new SessionCrashedError(reported, `an output line over ${MAX_STREAM_LINE} characters`))
      buffer = ''
      void api.kill()
    }
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrLog.write(chunk)
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL)
  })
  // A write to a process that died is an EPIPE here; its exit says what happened.
  child.stdin?.on('error', (err) => deps.logger.debug({ code: 'SESSION_STDIN_CLOSED', err: err.message }, 'session stdin closed'))

  const exited = new Promise<void>((resolve) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES') fail(new SessionNotInstalledError(o.command, { cause: err }))
      else fail(new SessionCrashedError(reported, `cannot start ${o.command}: ${err.code ?? err.message}`, undefined, { cause: err }))
      if (child.pid === undefined) {
        exitedFlag = true
        events.end()
        stderrLog.end()
        resolve()
      }
    })
    child.on('close', (code, signal) => {
      exitedFlag = true
      killTimer?.cancel()
      if (pending !== undefined) {
        const failure = classifyFailure(stderrTail, '')
        if (failure.kind === 'not-logged-in') fail(new SessionNotLoggedInError(reported))
        else if (failure.kind === 'usage-limit') fail(new SessionUsageLimitError(reported, failure.resetAt))
        else fail(new SessionCrashedError(reported, `the process ended without a result (${signal === null ? `exit ${code}` : signal}); see logs/sessions/${o.sessionId}.stderr.log`, { code, signal }))
      }
      events.end()
      stderrLog.end()
      resolve()
    })
  })

  const signalGroup = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined || exitedFlag) return
    try {
      process.kill(-child.pid, sig)
    } catch (err) {
      // ESRCH: the group is gone already; nothing else can fail for our own child's group.
      deps.logger.debug({ code: 'SESSION_SIGNAL_FAILED', err: (err as NodeJS.ErrnoException).code }, 'session signal not delivered')
    }
  }

  const api: ClaudeProcess = {
    pid: child.pid,
    exited,
    sessionId: () => reported,
    isExited: () => exitedFlag,
    turn(text, last) {
      if (fatal !== undefined) return Promise.reject(fatal)
      if (exitedFlag) return Promise.reject(new SessionCrashedError(reported, 'the process has exited'))
      if (pending !== undefined) return Promise.reject(new SessionCrashedError(reported, 'a turn is already running in this process'))
      lastText = ''
      const result = new Promise<TurnOutcome>((resolve, reject) => (pending = { resolve, reject }))
      child.stdin?.write(encodeUserMessage(text))
      if (last) child.stdin?.end()
      return result
    },
    close() {
      if (child.stdin?.writableEnded === false) child.stdin.end()
    },
    async kill() {
      if (exitedFlag || child.pid === undefined) return exited
      signalGroup('SIGTERM')
      killTimer ??= deps.clock.setTimeout(() => signalGroup('SIGKILL'), o.killGraceMs)
      return exited
    },
  }
  return api
}
