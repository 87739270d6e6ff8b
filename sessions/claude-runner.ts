/**
 * The AgentRunner adapter for the Claude Code CLI. Each turn runs in a Claude Code process
 * (claude-process.ts) with the argv of claude-argv.ts. At most `maxConcurrent` processes live
 * at once, running or warm; a turn beyond that waits in line, in order, and an idle warm
 * process is ended to make room for it. After a turn, the process stays warm for `warmTtlMs`
 * (stdin left open): the next turn of the same key is written to it instead of a new spawn.
 * Turns of one key run one after another. A turn past its timeout, or whose signal aborts,
 * has its process group terminated; a failed turn never leaves a warm process behind.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { Clock, Logger, TimerHandle } from '../runtime/index.js'
import { claudeArgv, type ClaudeSettings } from './claude-argv.js'
import { startClaudeProcess, type ClaudeProcess, type TurnOutcome } from './claude-process.js'
import { SessionCancelledError, SessionError, SessionNotInstalledError, SessionRunnerStoppedError, SessionTimeoutError } from './errors.js'
import { createSlots } from './slots.js'

export interface AgentTurn {
  /** What the session belongs to (a conversation id, a job run id): warm sessions are kept by it. */
  key: string
  /** A Claude session id to resume; without it the turn starts a new session. */
  resume?: string | undefined
  prompt: string
  /** Appended to Claude's system prompt (the agent's identity and context); only read by a new process. */
  systemPrompt?: string | undefined
  model?: string | undefined
  timeoutMs?: number | undefined
  /** Whether to keep the process warm after the turn; default: when warmTtlMs > 0. */
  keepWarm?: boolean | undefined
}

export interface AgentTurnResult extends TurnOutcome {
  /** The turn went to a process that was already warm. */
  warm: boolean
  startedAt: number
  endedAt: number
}

export interface RunnerStatus {
  running: number
  warm: number
  queued: number
  maxConcurrent: number
}

export type ClaudeVersion = { installed: true; version: string } | { installed: false; error: string }

/** Runs agent turns. Rejects with a SessionError (codes in errors.ts). */
export interface AgentRunner {
  run(turn: AgentTurn, options?: { signal?: AbortSignal }): Promise<AgentTurnResult>
  /** Cancels `key`'s running turn and ends its warm process; false if it had neither. */
  cancel(key: string): boolean
  status(): RunnerStatus
  /** `command --version`; a missing command is `installed: false`, never a throw. */
  version(options?: { signal?: AbortSignal }): Promise<ClaudeVersion>
  stop(): Promise<void>
}

export interface ClaudeRunnerOptions {
  /** The CLI to run (sessions.command); default `claude` on PATH. */
  command: string
  settings: ClaudeSettings
  /** Where each session's event log and stderr go (logs/sessions/). */
  logDir: string
  maxConcurrent: number
  warmTtlMs: number
  timeoutMs: number
  killGraceMs: number
  versionTimeoutMs: number
  cwd?: string | undefined
  env?: NodeJS.ProcessEnv | undefined
  newSessionId: () => string
}

export const CLAUDE_RUNNER_DEFAULTS = {
  command: 'claude',
  maxConcurrent: 2,
  warmTtlMs: 10 * 60_000,
  timeoutMs: 10 * 60_000,
  killGraceMs: 5_000,
  versionTimeoutMs: 10_000,
  newSessionId: randomUUID,
} satisfies Partial<ClaudeRunnerOptions>

interface Live {
  key: string
  proc: ClaudeProcess
  busy: boolean
  cancel: ((err: SessionError) => void) | undefined
  ttl: TimerHandle | undefined
  lastUsed: number
}

export function createClaudeRunner(deps: { clock: Clock; logger: Logger }, options: Partial<ClaudeRunnerOptions> & Pick<ClaudeRunnerOptions, 'logDir'>): AgentRunner {
  const o: ClaudeRunnerOptions = { ...CLAUDE_RUNNER_DEFAULTS, settings: {}, ...options }
  const { clock, logger } = deps
  const slots = createSlots(o.maxConcurrent)
  const live = new Set<Live>()
  const warmByKey = new Map<string, Live>()
  const chains = new Map<string, Promise<unknown>>()
  let stopped = false

  const endWarm = (entry: Live): void => {
    entry.ttl?.cancel()
    entry.ttl = undefined
    if (warmByKey.get(entry.key) === entry) warmByKey.delete(entry.key)
    entry.proc.close()
    // An idle process that does not leave when its stdin ends is made to.
    const grace = clock.setTimeout(() => void entry.proc.kill(), o.killGraceMs)
    void entry.proc.exited.then(() => grace.cancel())
  }

  /** Ends the least recently used idle warm process, so that a waiting turn gets its slot. */
  const makeRoom = (): void => {
    if (slots.free() > 0) return
    const idle = [...warmByKey.values()].filter((e) => !e.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0]
    if (idle !== undefined) endWarm(idle)
  }

  const spawnFor = (turn: AgentTurn): Live => {
    const sessionId = turn.resume ?? o.newSessionId()
    const argv = claudeArgv({ session: turn.resume === undefined ? { new: sessionId } : { resume: turn.resume }, systemPrompt: turn.systemPrompt, model: turn.model }, o.settings)
    const proc = startClaudeProcess({ clock, logger }, { command: o.command, argv, sessionId, logDir: o.logDir, killGraceMs: o.killGraceMs, cwd: o.cwd, env: o.env })
    const entry: Live = { key: turn.key, proc, busy: true, cancel: undefined, ttl: undefined, lastUsed: clock.now() }
    live.add(entry)
    void proc.exited.then(() => {
      live.delete(entry)
      if (warmByKey.get(entry.key) === entry) warmByKey.delete(entry.key)
      entry.ttl?.cancel()
      slots.release()
    })
    return entry
  }

  const runTurn = async (turn: AgentTurn, signal: AbortSignal | undefined): Promise<AgentTurnResult> => {
    if (stopped) throw new SessionRunnerStoppedError()
    const keepWarm = turn.keepWarm ?? o.warmTtlMs > 0
    let entry = warmByKey.get(turn.key)
    const reuse = entry !== undefined && !entry.busy && !entry.proc.isExited() && (turn.resume === undefined || turn.resume === entry.proc.sessionId())
    if (entry !== undefined && !reuse) endWarm(entry)
    if (reuse && entry !== undefined) {
      entry.ttl?.cancel()
      entry.ttl = undefined
      entry.busy = true
    } else {
      makeRoom()
      await slots.acquire(signal === undefined ? {} : { signal })
      if (stopped) {
        slots.release()
        throw new SessionRunnerStoppedError()
      }
      entry = spawnFor(turn)
    }
    const current = entry
    const startedAt = clock.now()
    const timeoutMs = turn.timeoutMs ?? o.timeoutMs
    try {
      const outcome = await new Promise<TurnOutcome>((resolve, reject) => {
        const timer = clock.setTimeout(() => reject(new SessionTimeoutError(current.proc.sessionId(), timeoutMs)), timeoutMs)
        const onAbort = (): void => reject(new SessionCancelledError(current.proc.sessionId()))
        signal?.addEventListener('abort', onAbort, { once: true })
        current.cancel = reject
        current.proc.turn(turn.prompt, !keepWarm).then(resolve, reject).finally(() => {
          timer.cancel()
          signal?.removeEventListener('abort', onAbort)
        })
        if (signal?.aborted === true) onAbort()
      })
      current.busy = false
      current.cancel = undefined
      current.lastUsed = clock.now()
      if (keepWarm && !stopped && !current.proc.isExited()) {
        warmByKey.set(turn.key, current)
        current.ttl = clock.setTimeout(() => endWarm(current), o.warmTtlMs)
        // A turn waiting for a slot takes this one's place rather than wait out the TTL.
        if (slots.waiting() > 0) makeRoom()
      }
      return { ...outcome, warm: reuse, startedAt, endedAt: clock.now() }
    } catch (err) {
      current.busy = false
      current.cancel = undefined
      if (warmByKey.get(turn.key) === current) warmByKey.delete(turn.key)
      void current.proc.kill()
      throw err
    }
  }

  return {
    run(turn, runOptions = {}) {
      // Turns of one key, one after another: a conversation's messages go one at a time.
      const previous = chains.get(turn.key) ?? Promise.resolve()
      const next = previous.catch(() => undefined).then(() => runTurn(turn, runOptions.signal))
      chains.set(turn.key, next)
      void next.catch(() => undefined).finally(() => {
        if (chains.get(turn.key) === next) chains.delete(turn.key)
      })
      return next
    },
    cancel(key) {
      let found = false
      for (const entry of live) {
        if (entry.key !== key) continue
        found = true
        if (entry.cancel !== undefined) entry.cancel(new SessionCancelledError(entry.proc.sessionId()))
        else endWarm(entry)
      }
      return found
    },
    status() {
      const running = [...live].filter((e) => e.busy).length
      return { running, warm: live.size - running, queued: slots.waiting(), maxConcurrent: o.maxConcurrent }
    },
    version(versionOptions = {}) {
      return new Promise<ClaudeVersion>((resolve) => {
        const signal = clock.timeoutSignal(o.versionTimeoutMs, versionOptions.signal === undefined ? {} : { signal: versionOptions.signal })
        execFile(o.command, ['--version'], { signal, env: o.env, timeout: 0 }, (err, stdout) => {
          if (err !== null) {
            const code = (err as NodeJS.ErrnoException).code
            const notInstalled = code === 'ENOENT' || code === 'EACCES'
            resolve({ installed: false, error: notInstalled ? new SessionNotInstalledError(o.command).message : `\`${o.command} --version\` failed: ${typeof code === 'string' ? code : err.name}` })
            return
          }
          const version = /\d+\.\d+\.\d+[\w.-]*/.exec(stdout)?.[0]
          resolve(version === undefined ? { installed: false, error: `\`${o.command} --version\` printed no version` } : { installed: true, version })
        })
      })
    },
    async stop() {
      if (stopped) return
      stopped = true
      slots.close(new SessionRunnerStoppedError())
      const exits = [...live].map((entry) => {
        entry.ttl?.cancel()
        entry.cancel?.(new SessionCancelledError(entry.proc.sessionId()))
        return entry.proc.kill()
      })
      await Promise.all(exits)
    },
  }
}
