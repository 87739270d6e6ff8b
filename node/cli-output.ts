/**
 * How the CLI prints: JSON on stdout with --json, short human lines otherwise; errors as one line.
 * Text output never carries a control character to the terminal: what the agent's state holds
 * (memory text, names, notes) came from anyone who wrote to it, and an ESC, BEL or NUL there
 * could drive the terminal, a right-to-left override could make a line read as another. They
 * are printed escaped (\x1b, \u202e); --json output stays exact.
 */
import { codeOf, exitCodeFor } from './errors.js'

/**
 * C0 controls but tab and newline, DEL, C1 controls, and the bidirectional formatting controls
 * (ALM, LRM, RLM, LRE to RLO, LRI to PDI) with the line and paragraph separators.
 */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g
const CONTROLS_AND_NEWLINES = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g

const escapeOne = (c: string): string => {
  const code = c.charCodeAt(0)
  if (c === '\n') return '\\n'
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** Text fit for a terminal: every control character escaped, tabs and line breaks kept. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escapeOne)
}

/** One value on one line of output: as escapeControls, and a line break shown as \n too. */
export function inline(text: string): string {
  return text.replace(CONTROLS_AND_NEWLINES, escapeOne)
}

export interface Output {
  json: boolean
  /** Prints a result: the object as JSON, or the human text. */
  result(value: unknown, human: () => string): void
  warn(message: string): void
  /** A line for the person at the terminal, on stderr so that --json output stays one object. */
  note(message: string): void
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(value, human) {
      stdout.write(json ? `${JSON.stringify(value)}\n` : `${escapeControls(human())}\n`)
    },
    warn(message) {
      stderr.write(`instar: warning: ${inline(message)}\n`)
    },
    note(message) {
      stderr.write(`${escapeControls(message)}\n`)
    },
  }
}

/**
 * Messages the CLI gives an error in place of its own, where the command knows better what the
 * user should do next (a hint made deep down cannot know where the user stands). The error
 * keeps its class and its code; only the line printed changes.
 */
const rewordings = new WeakMap<object, string>()

/** Has `err` reported with `message` instead of its own; returns `err` (to throw). */
export function rewordError(err: unknown, message: string): unknown {
  if (err !== null && typeof err === 'object') rewordings.set(err, message)
  return err
}

/** Prints an error as one clear line (and as JSON on stdout with --json); returns the exit code. */
export function reportError(err: unknown, json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): number {
  const code = codeOf(err)
  const reworded = err !== null && typeof err === 'object' ? rewordings.get(err) : undefined
  const message = reworded ?? (err instanceof Error ? err.message : String(err))
  const line = code === 'INTERNAL' ? `internal error: ${message}` : message
  stderr.write(`instar: ${inline(line)} [${inline(code)}]\n`)
  if (json) stdout.write(`${JSON.stringify({ error: { code, message: line } })}\n`)
  return exitCodeFor(code)
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}
