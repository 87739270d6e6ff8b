/**
 * Builds dist/ once before the suite: integration tests run the real `instar` binary,
 * which runs the compiled sources.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`build failed:\n${result.stdout}${result.stderr}`)
}
