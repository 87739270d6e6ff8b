/**
 * Runs the real `instar` binary as a child process. Every node a test starts through it is
 * registered for cleanup: stopped by signal, and killed if it will not stop.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import { createSystemClock } from '../../runtime/index.js'
import { processAlive } from '../../node/run-state.js'
import { waitFor } from './wait-for.js'

const clock = createSystemClock()

export const BIN = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export function runInstar(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = clock.setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`instar ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.once('error', reject)
    child.once('close', (code) => {
      timer.cancel()
      resolve({ code: code ?? 1, stdout, stderr })
    })
  })
}

/** The last line of a command's stdout, parsed (with --json a command prints one JSON line last). */
export function lastJson<T>(text: string): T {
  return JSON.parse(text.trim().split('\n').at(-1) ?? '') as T
}

/** Makes sure no node started on `home` outlives the test. */
export function cleanupNodeOnFinish(home: string): void {
  onTestFinished(async () => {
    const pids = new Set<number>()
    try {
      pids.add((JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { pid: number }).pid)
    } catch {
      // no node.json: nothing running from this home
    }
    try {
      const pid = Number.parseInt(readFileSync(join(home, 'run', 'node.lock'), 'utf8'), 10)
      if (pid > 0) pids.add(pid)
    } catch {
      // no lock
    }
    for (const pid of pids) await killHard(pid)
  })
}

async function killHard(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return // already gone
  }
  // Wait until it is gone so the temp dir can be removed (a zombie counts as gone).
  await waitFor(() => !processAlive(pid), { timeoutMs: 5000, what: `pid ${pid} to exit` }).catch(() => undefined)
}
