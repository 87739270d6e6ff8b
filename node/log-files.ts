/**
 * Log files under logs/ that rotate by size: once `path` has reached `maxBytes`, it becomes
 * `path.1` (the older ones shift to `.2` ... and the oldest past `keep` is deleted) and a new
 * `path` is started. So a node never holds more than (keep + 1) * maxBytes of one log.
 *
 * Writes are synchronous appends of whole lines: a log line is on disk before the call
 * returns (a crash never loses the line that explains it), and lines from one writer are never
 * interleaved. Only this process rotates its files; a second writer of the same file (none in
 * this codebase) would keep writing to the renamed one.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

export interface RotatingLogOptions {
  /** Size at which the file is rotated; default 10 MiB. */
  maxBytes?: number
  /** Rotated files kept beside the current one; default 5. */
  keep?: number
}

export interface RotatingLog {
  /** Appends `line` (a newline is added when it has none). */
  write(line: string): void
  close(): void
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
export const DEFAULT_LOG_KEEP = 5

export function openRotatingLog(path: string, options: RotatingLogOptions = {}): RotatingLog {
  const maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES
  const keep = options.keep ?? DEFAULT_LOG_KEEP
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  let fd: number | null = openSync(path, 'a', 0o600)
  let size = fstatSync(fd).size

  const rotate = (): void => {
    if (fd !== null) closeSync(fd)
    rmSync(`${path}.${keep}`, { force: true })
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`)
    if (keep > 0) renameSync(path, `${path}.1`)
    else rmSync(path, { force: true })
    fd = openSync(path, 'a', 0o600)
    size = 0
  }

  return {
    write(line) {
      if (fd === null) return
      const text = line.endsWith('\n') ? line : `${line}\n`
      const bytes = Buffer.byteLength(text)
      if (size > 0 && size + bytes > maxBytes) rotate()
      writeSync(fd as number, text)
      size += bytes
    },
    close() {
      if (fd === null) return
      closeSync(fd)
      fd = null
    },
  }
}
