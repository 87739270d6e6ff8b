/** How the CLI prints: JSON on stdout with --json, short human lines otherwise; errors as one line. */
import { codeOf, exitCodeFor } from './errors.js'

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
      stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`)
    },
    warn(message) {
      stderr.write(`instar: warning: ${message}\n`)
    },
    note(message) {
      stderr.write(`${message}\n`)
    },
  }
}

/** Prints an error as one clear line (and as JSON on stdout with --json); returns the exit code. */
export function reportError(err: unknown, json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): number {
  const code = codeOf(err)
  const message = err instanceof Error ? err.message : String(err)
  const line = code === 'INTERNAL' ? `internal error: ${message}` : message
  stderr.write(`instar: ${line} [${code}]\n`)
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
