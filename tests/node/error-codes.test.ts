import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CHANNEL_ERROR_CODES } from '../../channels/index.js'
import { CRDT_ERROR_CODES } from '../../crdt/index.js'
import { SESSION_ERROR_CODES } from '../../sessions/index.js'
import { IDENTITY_ERROR_CODES } from '../../identity/index.js'
import { MESH_ERROR_CODES } from '../../mesh/index.js'
import { allErrorCodes, exitCodeFor, httpStatusFor } from '../../node/error-codes.js'
import { NODE_ERROR_CODES } from '../../node/errors.js'

const root = new URL('../../', import.meta.url).pathname
const unions: Record<string, readonly string[]> = {
  identity: IDENTITY_ERROR_CODES,
  mesh: MESH_ERROR_CODES,
  crdt: CRDT_ERROR_CODES,
  channels: CHANNEL_ERROR_CODES,
  sessions: SESSION_ERROR_CODES,
  node: NODE_ERROR_CODES,
}
const every = Object.values(unions).flat()

/** Rows of the README's error table: code -> [HTTP, exit]. */
function readmeTable(): Map<string, [number, number]> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Error codes'))
  const rows = new Map<string, [number, number]>()
  for (const match of section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (\d{3}) \| (\d) \| .+ \|$/gm)) {
    rows.set(match[1] ?? '', [Number(match[2]), Number(match[3])])
  }
  return rows
}

describe('error codes', () => {
  it('gives every code of every folder an HTTP status and a CLI exit code', () => {
    for (const code of every) {
      expect(httpStatusFor(code), code).toBeGreaterThanOrEqual(400)
      expect(httpStatusFor(code), code).toBeLessThan(600)
      expect([1, 2], code).toContain(exitCodeFor(code))
    }
    expect(new Set(allErrorCodes())).toEqual(new Set(every))
  })

  it('gives no code to two folders', () => {
    expect(every.length).toBe(new Set(every).size)
  })

  it('maps a code that is not ours to a server error and exit 1', () => {
    expect(httpStatusFor('ENOENT')).toBe(500)
    expect(exitCodeFor('ENOENT')).toBe(1)
    expect(httpStatusFor('PAIRING_')).toBe(500)
  })

  it('lists every code in the README with the status and exit code it maps to', () => {
    const table = readmeTable()
    for (const code of every) expect(table.get(code), `README row for ${code}`).toEqual([httpStatusFor(code), exitCodeFor(code)])
    expect([...table.keys()].filter((code) => !every.includes(code))).toEqual([])
  })

  it('builds each code in one error class only, from a literal', () => {
    const owners = new Map<string, string[]>()
    for (const folder of Object.keys(unions)) {
      for (const file of readdirSync(join(root, folder)).filter((f) => f.endsWith('.ts'))) {
        const text = readFileSync(join(root, folder, file), 'utf8')
        for (const match of text.matchAll(/super\(\s*'([A-Z][A-Z0-9_]+)'/g)) {
          const code = match[1] ?? ''
          owners.set(code, [...(owners.get(code) ?? []), `${folder}/${file}`])
        }
      }
    }
    for (const [code, files] of owners) expect(files, code).toHaveLength(1)
    for (const code of owners.keys()) expect(every, code).toContain(code)
  })
})
