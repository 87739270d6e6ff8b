/**
 * The session runner's settings and the claude it found, as `instar node status` shows them:
 * the stand-in CLI chosen by sessions.command, and a command that is not there (a warning,
 * never a failed start).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { editConfig } from '../support/homes.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const FAKE = fileURLToPath(new URL('../support/fake-claude.mjs', import.meta.url))

interface Status {
  sessions: { command: string; maxConcurrent: number; warmTtlMs: number; timeoutMs: number; model: string | null; claude: { installed: boolean; version?: string; error?: string } | null } | null
}

async function nodeWith(sessions: Record<string, unknown>): Promise<string> {
  const home = join(tempDir(), 'home')
  const init = await runInstar(['init', '--home', home, '--json', '--agent', 'kira', '--name', 'laptop'])
  expect(init.code, init.stderr).toBe(0)
  editConfig(home, (config) => ({ ...config, sessions: { ...(config.sessions as object), ...sessions } }))
  cleanupNodeOnFinish(home)
  const start = await runInstar(['node', 'start', '--home', home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'])
  expect(start.code, start.stderr).toBe(0)
  return home
}

const checked = (home: string): Promise<Status> =>
  waitFor(
    async () => {
      const status = lastJson<Status>((await runInstar(['node', 'status', '--home', home, '--json'])).stdout)
      return status.sessions?.claude === null ? null : status
    },
    { timeoutMs: 30_000, what: 'the claude check' },
  )

describe('sessions in node status', () => {
  it('shows the runner settings and the version of the configured claude', async () => {
    const home = await nodeWith({ command: FAKE, maxConcurrent: 3, warmTtl: '90s', model: 'sonnet' })
    const status = await checked(home)
    expect(status.sessions).toMatchObject({ command: FAKE, maxConcurrent: 3, warmTtlMs: 90_000, timeoutMs: 600_000, model: 'sonnet', claude: { installed: true, version: '2.1.328' } })
    const human = await runInstar(['node', 'status', '--home', home])
    expect(human.stdout).toContain('claude 2.1.328')
  })

  it('starts without claude and says sessions cannot run', async () => {
    const home = await nodeWith({ command: '/nonexistent/claude' })
    const status = await checked(home)
    expect(status.sessions?.claude).toMatchObject({ installed: false })
    const human = await runInstar(['node', 'status', '--home', home])
    expect(human.stdout).toMatch(/NOT USABLE/)
    expect(readFileSync(join(home, 'logs', 'node.log'), 'utf8')).toContain('SESSION_NOT_INSTALLED')
  })
})
