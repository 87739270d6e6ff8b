/**
 * run/node.lock and run/node.json: how one data directory holds at most one node, and how
 * the CLI finds the node that runs on it. A lock whose process is gone is stale and is
 * replaced; node.json is written only once the node answers, and removed on shutdown.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { NodeAlreadyRunningError } from './errors.js'
import type { HomePaths } from './paths.js'

export interface RunInfo {
  pid: number
  api: string
  peerId: string
  addresses: string[]
  startedAt: number
  version: string
}

/**
 * node.json as the CLI reads it, checked by hand rather than by a zod schema: every CLI
 * command reads this file, and loading zod would cost more than the rest of a command.
 */
export function parseRunInfo(value: unknown): RunInfo | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const v = value as Record<string, unknown>
  const { pid, api, peerId, addresses, startedAt, version } = v
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null
  if (typeof api !== 'string' || !/^http:\/\/127\.0\.0\.1:\d{1,5}$/.test(api)) return null
  if (typeof peerId !== 'string' || peerId === '') return null
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string')) return null
  if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) return null
  if (typeof version !== 'string') return null
  return { pid, api, peerId, addresses: addresses as string[], startedAt, version }
}

/** Whether a process with this pid runs (another user's counts; a zombie does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A killed node whose parent never reaps it (a container without an init) stays a zombie:
  // it answers signal 0 but holds nothing. Linux says so in /proc; elsewhere trust the signal.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return true
  }
}

function readLockPid(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** The pid of a live process holding the data directory's lock, or null. */
export function liveLockHolder(paths: HomePaths): number | null {
  const pid = readLockPid(paths.lockFile)
  return pid !== null && processAlive(pid) ? pid : null
}

export interface Lock {
  release(): void
}

/**
 * Takes the data directory's lock for this process. A lock held by a live process refuses;
 * one left by a dead process (SIGKILL, power loss) is removed along with its node.json.
 */
export function acquireLock(paths: HomePaths, pid: number): Lock {
  mkdirSync(paths.runDir, { recursive: true, mode: 0o700 })
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = openSync(paths.lockFile, 'wx', 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = readLockPid(paths.lockFile)
      if (holder !== null && holder !== pid && processAlive(holder)) {
        throw new NodeAlreadyRunningError(paths.home, holder)
      }
      // Stale: the holder is gone (or the file is empty from a crash mid-write).
      rmSync(paths.lockFile, { force: true })
      rmSync(paths.runFile, { force: true })
      continue
    }
    writeSync(fd, `${pid}\n`)
    closeSync(fd)
    let released = false
    return {
      release() {
        if (released) return
        released = true
        if (readLockPid(paths.lockFile) === pid) rmSync(paths.lockFile, { force: true })
      },
    }
  }
  throw new NodeAlreadyRunningError(paths.home, readLockPid(paths.lockFile) ?? 0)
}

export function writeRunInfo(paths: HomePaths, info: RunInfo): void {
  const tmp = join(paths.runDir, `.node.json.${info.pid}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, paths.runFile)
}

export function removeRunInfo(paths: HomePaths, pid: number): void {
  const info = readRunInfo(paths)
  if (info === null || info.pid === pid) rmSync(paths.runFile, { force: true })
}

/** The node.json of a node, or null when there is none or it is unreadable. */
export function readRunInfo(paths: HomePaths): RunInfo | null {
  let text: string
  try {
    text = readFileSync(paths.runFile, 'utf8')
  } catch {
    return null
  }
  try {
    return parseRunInfo(JSON.parse(text))
  } catch {
    return null
  }
}

/** node.json of a node whose process is alive, else null (a stale file is left for the next start). */
export function liveRunInfo(paths: HomePaths): RunInfo | null {
  const info = readRunInfo(paths)
  if (info === null || !processAlive(info.pid)) return null
  return info
}
