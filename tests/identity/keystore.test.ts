import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  codeOf,
  generateMeshKey,
  generateSeed,
  KeyFileCorruptError,
  KeyFilePermissionsError,
  loadMeshKeys,
  loadSeed,
  readKeyFile,
  saveMeshKeys,
  saveSeed,
  toBase64Url,
  toHex,
  writeKeyFile,
} from './fixtures.js'

let home: string
let keys: string

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'instar-identity-'))
  keys = join(home, 'keys')
})

afterEach(() => {
  rmSync(home, { recursive: true, force: true })
})

function modeOf(path: string): number {
  return statSync(path).mode & 0o777
}

function thrown(run: () => unknown): Error & { code?: string } {
  try {
    run()
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected a throw')
}

describe('keystore', () => {
  it('writes a 0600 file in a newly created 0700 directory and reads the seed back', () => {
    const seed = generateSeed()
    const path = join(keys, 'machine.json')
    saveSeed(path, 'machine', seed)
    expect(modeOf(keys)).toBe(0o700)
    expect(modeOf(path)).toBe(0o600)
    const loaded = loadSeed(path, 'machine')
    expect(toHex(loaded.seed)).toBe(toHex(seed))
    expect(loaded.warnings).toEqual([])
  })

  it('stores the documented JSON envelope', () => {
    const seed = generateSeed()
    const path = join(keys, 'agent.json')
    saveSeed(path, 'agent', seed)
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      type: 'instar-key',
      kind: 'agent',
      version: 1,
      data: toBase64Url(seed),
    })
  })

  it('tightens an existing key directory to 0700 and leaves no temp files behind', () => {
    mkdirSync(keys, { mode: 0o755 })
    chmodSync(keys, 0o755)
    saveSeed(join(keys, 'machine.json'), 'machine', generateSeed())
    expect(modeOf(keys)).toBe(0o700)
    expect(readdirSync(keys)).toEqual(['machine.json'])
  })

  it('refuses a second write without overwrite and keeps the first seed', () => {
    const path = join(keys, 'machine.json')
    const first = generateSeed()
    saveSeed(path, 'machine', first)
    const err = thrown(() => saveSeed(path, 'machine', generateSeed()))
    expect(err.code).toBe('IDENTITY_KEY_FILE_EXISTS')
    expect((err as Error & { path?: string }).path).toBe(path)
    expect(toHex(loadSeed(path, 'machine').seed)).toBe(toHex(first))
    expect(readdirSync(keys)).toEqual(['machine.json'])
  })

  it('replaces the file with overwrite and keeps mode 0600', () => {
    const path = join(keys, 'machine.json')
    saveSeed(path, 'machine', generateSeed())
    chmodSync(path, 0o644)
    const second = generateSeed()
    saveSeed(path, 'machine', second, { overwrite: true })
    expect(toHex(loadSeed(path, 'machine').seed)).toBe(toHex(second))
    expect(modeOf(path)).toBe(0o600)
  })

  it('reports a missing file as IDENTITY_KEY_FILE_MISSING', () => {
    expect(codeOf(() => loadSeed(join(keys, 'nope.json'), 'machine'))).toBe('IDENTITY_KEY_FILE_MISSING')
  })

  it('reports a truncated file as corrupt without quoting its contents', () => {
    const seed = generateSeed()
    const path = join(keys, 'machine.json')
    saveSeed(path, 'machine', seed)
    const text = readFileSync(path, 'utf8')
    writeFileSync(path, text.slice(0, text.length - 10), { mode: 0o600 })
    const err = thrown(() => loadSeed(path, 'machine'))
    expect(err).toBeInstanceOf(KeyFileCorruptError)
    expect(err.code).toBe('IDENTITY_KEY_FILE_CORRUPT')
    expect((err as KeyFileCorruptError).reason).toBe('truncated')
    expect((err as KeyFileCorruptError).path).toBe(path)
    expect(err.message).toContain(path)
    for (const secretForm of [toHex(seed), toBase64Url(seed), toBase64Url(seed).slice(0, 16)]) {
      expect(err.message).not.toContain(secretForm)
      expect(String(err.cause ?? '')).not.toContain(secretForm)
    }
  })

  it('names what is wrong with a corrupt file', () => {
    const path = join(keys, 'machine.json')
    mkdirSync(keys, { mode: 0o700 })
    const cases: Array<[string, string]> = [
      ['', 'empty'],
      ['not json at all', 'not json'],
      ['[1,2]', 'wrong type'],
      [JSON.stringify({ type: 'other', kind: 'machine', version: 1, data: '' }), 'wrong type'],
      [JSON.stringify({ type: 'instar-key', kind: 'machine', version: 2, data: '' }), 'unsupported version'],
      [JSON.stringify({ type: 'instar-key', kind: 'agent', version: 1, data: toBase64Url(generateSeed()) }), 'wrong kind'],
      [JSON.stringify({ type: 'instar-key', kind: 'machine', version: 1, data: 'not base64!' }), 'bad encoding'],
      [JSON.stringify({ type: 'instar-key', kind: 'machine', version: 1, data: { a: 1 } }), 'bad encoding'],
      [JSON.stringify({ type: 'instar-key', kind: 'machine', version: 1, data: toBase64Url(new Uint8Array(31)) }), 'wrong seed length'],
    ]
    for (const [content, reason] of cases) {
      writeFileSync(path, content, { mode: 0o600 })
      const err = thrown(() => readKeyFile(path, 'machine'))
      expect(err.code, content).toBe('IDENTITY_KEY_FILE_CORRUPT')
      expect((err as KeyFileCorruptError).reason, content).toBe(reason)
    }
  })

  it('warns about a group- or world-readable machine key but still loads it', () => {
    const seed = generateSeed()
    const path = join(keys, 'machine.json')
    saveSeed(path, 'machine', seed)
    chmodSync(path, 0o644)
    const loaded = loadSeed(path, 'machine')
    expect(toHex(loaded.seed)).toBe(toHex(seed))
    expect(loaded.warnings).toHaveLength(1)
    expect(loaded.warnings[0]?.code).toBe('IDENTITY_KEY_FILE_PERMISSIONS')
    expect(loaded.warnings[0]?.path).toBe(path)
    expect(loaded.warnings[0]?.message).not.toContain(toBase64Url(seed))
  })

  it('refuses a group- or world-readable agent key with IDENTITY_KEY_FILE_PERMISSIONS', () => {
    const seed = generateSeed()
    const path = join(keys, 'agent.json')
    saveSeed(path, 'agent', seed)
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(path, mode)
      const err = thrown(() => loadSeed(path, 'agent'))
      expect(err).toBeInstanceOf(KeyFilePermissionsError)
      expect(err.code).toBe('IDENTITY_KEY_FILE_PERMISSIONS')
      expect((err as KeyFilePermissionsError).mode).toBe(mode)
      expect(err.message).not.toContain(toBase64Url(seed))
      expect(err.message).not.toContain(toHex(seed))
    }
  })

  it('refuses to store a seed that is not 32 bytes', () => {
    const path = join(keys, 'machine.json')
    expect(codeOf(() => saveSeed(path, 'machine', new Uint8Array(16)))).toBe('IDENTITY_KEY_INVALID')
    expect(codeOf(() => writeKeyFile(path, 'agent', { seed: 'x' }))).toBe('IDENTITY_KEY_INVALID')
  })

  it('round-trips mesh key epochs in a 0600 file', () => {
    const path = join(keys, 'mesh.json')
    const stored = [generateMeshKey(1), generateMeshKey(2)]
    saveMeshKeys(path, stored)
    expect(modeOf(path)).toBe(0o600)
    const loaded = loadMeshKeys(path)
    expect(loaded.keys.map((k) => [k.epoch, toHex(k.key)])).toEqual(stored.map((k) => [k.epoch, toHex(k.key)]))
    expect(loaded.warnings).toEqual([])
  })

  it('reports malformed mesh key entries as corrupt', () => {
    const path = join(keys, 'mesh.json')
    writeKeyFile(path, 'mesh', { keys: [{ epoch: 1, key: toBase64Url(new Uint8Array(8)) }] })
    expect(codeOf(() => loadMeshKeys(path))).toBe('IDENTITY_KEY_FILE_CORRUPT')
    const key = toBase64Url(generateMeshKey(1).key)
    writeKeyFile(path, 'mesh', { keys: [{ epoch: 1, key }, { epoch: 1, key }] }, { overwrite: true })
    expect(codeOf(() => loadMeshKeys(path))).toBe('IDENTITY_KEY_FILE_CORRUPT')
    writeKeyFile(path, 'mesh', { epochs: [] }, { overwrite: true })
    expect(codeOf(() => loadMeshKeys(path))).toBe('IDENTITY_KEY_FILE_CORRUPT')
  })
})
