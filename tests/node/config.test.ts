import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { durationMs, loadConfig, parseConfig, writeConfig, type Config } from '../../node/config.js'
import { ConfigInvalidError } from '../../node/errors.js'
import { tempDir } from '../support/temp-dir.js'

const good: Config = {
  version: 1,
  role: 'node',
  machine: { name: 'laptop', priority: 0 },
  agent: { name: 'kira', publicKey: 'ab'.repeat(32) },
  api: { port: 0 },
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  storage: { durability: 'power-loss' },
  sessions: { command: 'claude', args: [], maxConcurrent: 2, warmTtl: '10m', timeout: '10m', contextBudget: 20_000 },
  channels: { retentionDays: 7 },
  log: { level: 'info' },
}

function failure(value: unknown): ConfigInvalidError {
  try {
    parseConfig(value, 'config.json')
  } catch (err) {
    if (err instanceof ConfigInvalidError) return err
    throw err
  }
  throw new Error('expected the config to be refused')
}

describe('config.json', () => {
  it('accepts a complete config and fills defaults for optional sections', () => {
    const parsed = parseConfig({ version: 1, machine: { name: 'laptop' }, agent: null }, 'config.json')
    expect(parsed.api.port).toBe(0)
    expect(parsed.listen).toEqual(['/ip4/0.0.0.0/tcp/0'])
    expect(parsed.machine.priority).toBe(0)
  })

  it('defaults storage durability to power-loss and accepts process-crash', () => {
    expect(parseConfig({ version: 1, machine: { name: 'laptop' }, agent: null }, 'config.json').storage.durability).toBe('power-loss')
    expect(parseConfig({ ...good, storage: { durability: 'process-crash' } }, 'config.json').storage.durability).toBe('process-crash')
  })

  it('fills the sessions defaults for a config written before sessions existed', () => {
    expect(parseConfig({ version: 1, machine: { name: 'laptop' }, agent: null }, 'config.json').sessions).toEqual({ command: 'claude', args: [], maxConcurrent: 2, warmTtl: '10m', timeout: '10m', contextBudget: 20_000 })
  })

  it('keeps finished inbox and outbox entries 7 days unless told otherwise, and refuses a bad retention', () => {
    expect(parseConfig({ version: 1, machine: { name: 'laptop' }, agent: null }, 'config.json').channels).toEqual({ retentionDays: 7 })
    expect(parseConfig({ ...good, channels: { retentionDays: 30 } }, 'config.json').channels.retentionDays).toBe(30)
    expect(failure({ ...good, channels: { retentionDays: 0 } }).field).toBe('channels.retentionDays')
    expect(failure({ ...good, channels: { retentionDays: 1.5 } }).field).toBe('channels.retentionDays')
    expect(failure({ ...good, channels: { retention: '7d' } }).message).toContain('"retention"')
  })

  it('reads session durations as seconds or with a unit', () => {
    expect([90, '500ms', '90s', '10m', '2h'].map((d) => durationMs(d))).toEqual([90_000, 500, 90_000, 600_000, 7_200_000])
  })

  it('refuses bad session settings, naming the field', () => {
    expect(failure({ ...good, sessions: { ...good.sessions, warmTtl: 'ten minutes' } }).field).toBe('sessions.warmTtl')
    expect(failure({ ...good, sessions: { ...good.sessions, timeout: '8d' } }).field).toBe('sessions.timeout')
    expect(failure({ ...good, sessions: { ...good.sessions, timeout: '200h' } }).message).toContain('at most 7 days')
    expect(failure({ ...good, sessions: { ...good.sessions, maxConcurrent: 0 } }).field).toBe('sessions.maxConcurrent')
    expect(failure({ ...good, sessions: { ...good.sessions, permissionMode: 'accept edits; rm' } }).field).toBe('sessions.permissionMode')
    expect(failure({ ...good, sessions: { ...good.sessions, comand: 'x' } }).message).toContain('"comand"')
  })

  it('refuses an unknown durability, naming the field', () => {
    expect(failure({ ...good, storage: { durability: 'none' } }).field).toBe('storage.durability')
  })

  it('names the field whose value is wrong', () => {
    const err = failure({ ...good, api: { port: 70000 } })
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.field).toBe('api.port')
    expect(err.message).toContain('api.port')
  })

  it('refuses an unknown field so a typo does not pass silently', () => {
    const err = failure({ ...good, lisen: ['/ip4/127.0.0.1/tcp/0'] })
    expect(err.message).toContain('"lisen"')
  })

  it('refuses a listen address that is not a multiaddr', () => {
    const err = failure({ ...good, listen: ['127.0.0.1:4100'] })
    expect(err.field).toBe('listen.0')
  })

  it('refuses a machine name with spaces or slashes', () => {
    expect(failure({ ...good, machine: { name: 'my laptop' } }).field).toBe('machine.name')
    expect(failure({ ...good, machine: { name: '../x' } }).field).toBe('machine.name')
  })

  it('defaults the role to node, accepts witness, and refuses any other role naming the field', () => {
    expect(parseConfig({ version: 1, machine: { name: 'laptop' }, agent: null }, 'config.json').role).toBe('node')
    expect(parseConfig({ ...good, role: 'witness' }, 'config.json').role).toBe('witness')
    expect(failure({ ...good, role: 'leader' }).field).toBe('role')
    expect(failure({ ...good, role: 1 }).field).toBe('role')
  })

  it('refuses a file that is not JSON, saying so', () => {
    const dir = tempDir()
    const path = join(dir, 'config.json')
    writeFileSync(path, '{"version": 1,')
    expect(() => loadConfig(path)).toThrow(/is not valid JSON/)
  })

  it('refuses a missing file, naming it', () => {
    const dir = tempDir()
    expect(() => loadConfig(join(dir, 'config.json'))).toThrow(/config\.json: the file does not exist/)
  })

  it('round-trips through writeConfig and loadConfig', () => {
    const dir = tempDir()
    const path = join(dir, 'config.json')
    writeConfig(path, good)
    expect(loadConfig(path)).toEqual(good)
  })
})
