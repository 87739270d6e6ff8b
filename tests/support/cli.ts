/**
 * Runs the real `instar` binary as a child process. Every node a test starts through it is
 * registered for cleanup: stopped by signal, and killed if it will not stop.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'
import { createSystemClock } from '../../mesh/index.js'

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

/** Makes sure no node started on `home` outlives the test. */
export function cleanupNodeOnFinish(home: string): void {
  onTestFinished(() => {
    try {
      const run = JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { pid: number }
      killHard(run.pid)
    } catch {
      // no node.json: nothing running from this home
    }
    try {
      const pid = Number.parseInt(readFileSync(join(home, 'run', 'node.lock'), 'utf8'), 10)
      if (pid > 0) killHard(pid)
    } catch {
      // no lock
    }
  })
}

function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
  // Reap-free wait: poll until the pid is gone so the temp dir can be removed.
  spawnSync('sh', ['-c', `for i in $(seq 1 50); do kill -0 ${pid} 2>/dev/null || exit 0; sleep 0.05; done`])
}
