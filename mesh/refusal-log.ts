/**
 * Logs refusals of peer input with their code, and counts them, without letting a peer that
 * floods refused frames flood the log: per peer and code, the first `linesPerWindow` refusals
 * of a window are logged at warn, the rest are only counted, and the first refusal after the
 * window says how many lines it held back (`suppressed`). Counters never stop counting.
 */
import type { Clock } from '../runtime/index.js'
import type { Logger } from '../runtime/index.js'

export interface RefusalLog {
  /** Counts a refusal of `peerId`'s input and logs it (unless held back): `fields` joins the line. */
  refuse(code: string, peerId: string, fields: object, message: string): void
  /** Counts an event under `code` without a log line (the caller logs it its own way). */
  count(code: string): void
  /** Refusals so far, by code. */
  counts(): Record<string, number>
}

export interface RefusalLogOptions {
  windowMs?: number
  linesPerWindow?: number
  /** Peers tracked at once; the oldest are forgotten first (a flood of identities stays bounded). */
  maxKeys?: number
}

export function createRefusalLog(deps: { clock: Clock; logger: Logger }, options: RefusalLogOptions = {}): RefusalLog {
  const windowMs = options.windowMs ?? 60_000
  const linesPerWindow = options.linesPerWindow ?? 10
  const maxKeys = options.maxKeys ?? 1000
  const counts = new Map<string, number>()
  const windows = new Map<string, { startedAt: number; lines: number; suppressed: number }>()
  return {
    refuse(code, peerId, fields, message) {
      counts.set(code, (counts.get(code) ?? 0) + 1)
      const key = `${code} ${peerId}`
      const now = deps.clock.now()
      let w = windows.get(key)
      if (w === undefined || now - w.startedAt >= windowMs) {
        const suppressed = w?.suppressed ?? 0
        w = { startedAt: now, lines: 0, suppressed: 0 }
        windows.delete(key)
        windows.set(key, w)
        while (windows.size > maxKeys) {
          const oldest = windows.keys().next().value
          if (oldest === undefined) break
          windows.delete(oldest)
        }
        if (suppressed > 0) {
          deps.logger.warn({ code, peerId, suppressed }, `held back ${suppressed} refusal lines of the last window`)
        }
      }
      if (w.lines >= linesPerWindow) {
        w.suppressed++
        return
      }
      w.lines++
      deps.logger.warn({ ...fields, code, peerId }, message)
    },
    count(code) {
      counts.set(code, (counts.get(code) ?? 0) + 1)
    },
    counts: () => Object.fromEntries(counts),
  }
}
