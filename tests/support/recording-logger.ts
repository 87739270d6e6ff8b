/** A Logger that keeps every line, so tests can assert on the codes a node logged (never on text). */
import type { Logger } from '../../runtime/index.js'

export interface LoggedLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  code: unknown
  fields: Record<string, unknown>
}

export interface RecordingLogger extends Logger {
  readonly lines: LoggedLine[]
  /** The codes logged so far, in order (lines without a code left out). */
  codes(): unknown[]
}

export function recordingLogger(): RecordingLogger {
  const lines: LoggedLine[] = []
  const at =
    (level: LoggedLine['level']) =>
    (fields: object): void => {
      lines.push({ level, code: (fields as { code?: unknown }).code, fields: fields as Record<string, unknown> })
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), codes: () => lines.map((l) => l.code).filter((c) => c !== undefined) }
}
