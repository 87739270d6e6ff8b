/** The CLI's entry bundle: what every command loads holds commander and the API client, not libp2p, Yjs or zod. */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/** The text of a module and of every module it imports statically (dynamic imports are left out). */
function staticGraph(url: URL, seen = new Set<string>()): string {
  if (seen.has(url.href)) return ''
  seen.add(url.href)
  const text = readFileSync(url, 'utf8')
  const imports = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"(\.[^"]+)"|(?:^|\n)\s*import\s*"(\.[^"]+)"/g)].map((m) => m[1] ?? m[2] ?? '')
  return text + imports.map((spec) => staticGraph(new URL(spec, url), seen)).join('')
}

describe('the CLI bundle (built by the global setup)', () => {
  it('loads no libp2p, Yjs, zod, pino or fastify until a command that needs them runs', () => {
    const loaded = staticGraph(new URL('../../dist/cli/instar.mjs', import.meta.url))
    expect(loaded).toContain('node_modules/commander')
    for (const heavy of ['node_modules/libp2p', 'node_modules/@libp2p', 'node_modules/yjs', 'node_modules/zod', 'node_modules/pino', 'node_modules/fastify']) {
      expect(loaded, heavy).not.toContain(heavy)
    }
  })

  it('prints the version of package.json from the bundle', () => {
    const bin = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))
    const result = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' })
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(result.stdout.trim()).toBe(pkg.version)
  })
})
