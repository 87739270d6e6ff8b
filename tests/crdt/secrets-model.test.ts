import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createSecretsModel } from '../../crdt/secrets-model.js'
import { sync } from '../support/model-docs.js'

function caught(fn: () => unknown): Error & { code?: string; field?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code?: string; field?: string }
  }
  throw new Error('expected a throw')
}

/** Everything an error could leak through: message, stack, own fields, util.inspect, JSON. */
function everythingIn(err: Error): string {
  return [err.message, err.stack ?? '', inspect(err, { depth: 5 }), JSON.stringify(err)].join('\n')
}

const TOKEN = 'sk-live-7f3a9c1e5b2d4f60'

describe('secrets model', () => {
  it('sets, reads, checks and removes a secret', () => {
    const secrets = createSecretsModel(new Y.Doc())
    secrets.set('telegram.bot_token', TOKEN, 10)
    expect(secrets.has('telegram.bot_token')).toBe(true)
    expect(secrets.get('telegram.bot_token')).toBe(TOKEN)
    secrets.set('telegram.bot_token', 'rotated', 20)
    expect(secrets.get('telegram.bot_token')).toBe('rotated')
    secrets.remove('telegram.bot_token')
    expect(secrets.has('telegram.bot_token')).toBe(false)
  })

  it('reports a missing secret by code', () => {
    const secrets = createSecretsModel(new Y.Doc())
    expect(() => secrets.get('absent')).toThrow(expect.objectContaining({ code: 'SECRET_NOT_FOUND', secret: 'absent' }))
    expect(() => secrets.remove('absent')).toThrow(expect.objectContaining({ code: 'SECRET_NOT_FOUND' }))
  })

  it('lists names and times, never values', () => {
    const secrets = createSecretsModel(new Y.Doc())
    secrets.set('b-key', TOKEN, 2)
    secrets.set('A_KEY', `${TOKEN}-other`, 1)
    const list = secrets.list()
    expect(list).toEqual([
      { name: 'A_KEY', updatedAt: 1 },
      { name: 'b-key', updatedAt: 2 },
    ])
    expect(JSON.stringify(list)).not.toContain(TOKEN)
    expect(inspect(list, { depth: 5 })).not.toContain(TOKEN)
  })

  it('refuses bad names and values without repeating the value in the error', () => {
    const secrets = createSecretsModel(new Y.Doc())
    const tooLong = `${TOKEN}${'x'.repeat(64 * 1024)}`
    const cases: Array<[string, () => unknown]> = [
      ['value', () => secrets.set('ok', tooLong, 1)],
      ['value', () => secrets.set('ok', '', 1)],
      ['value', () => secrets.set('ok', 42 as unknown as string, 1)],
      ['name', () => secrets.set(TOKEN.replace(/-/g, ' '), TOKEN, 1)],
      ['name', () => secrets.set('', TOKEN, 1)],
      ['name', () => secrets.set('x'.repeat(129), TOKEN, 1)],
      ['name', () => secrets.set('slash/name', TOKEN, 1)],
      ['now', () => secrets.set('ok', TOKEN, Number.NaN)],
    ]
    for (const [field, fn] of cases) {
      const err = caught(fn)
      expect(err).toMatchObject({ code: 'CRDT_INPUT_INVALID', field })
      expect(everythingIn(err)).not.toContain(TOKEN)
      expect(everythingIn(err)).not.toContain('sk live')
    }
    expect(secrets.list()).toEqual([])
  })

  it('accepts a value of exactly 64 KiB of UTF-8 and refuses one byte more', () => {
    const secrets = createSecretsModel(new Y.Doc())
    secrets.set('big', 'é'.repeat(32 * 1024), 1)
    expect(secrets.get('big')).toHaveLength(32 * 1024)
    expect(caught(() => secrets.set('big', `${'é'.repeat(32 * 1024)}x`, 2))).toMatchObject({ field: 'value' })
  })

  it('does not leak a value through a not-found error for another name', () => {
    const secrets = createSecretsModel(new Y.Doc())
    secrets.set('present', TOKEN, 1)
    expect(everythingIn(caught(() => secrets.get('absent')))).not.toContain(TOKEN)
  })

  it('converges when two machines set the same secret at once', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const sa = createSecretsModel(a)
    const sb = createSecretsModel(b)
    sa.set('shared', 'from-a', 1)
    sb.set('shared', 'from-b', 2)
    sb.set('only-b', 'b', 2)
    sync(a, b)
    expect(sa.get('shared')).toBe(sb.get('shared'))
    expect(sa.list()).toEqual(sb.list())
    expect(sa.list().map((s) => s.name)).toEqual(['only-b', 'shared'])
    const winner = sa.get('shared')
    expect(sa.list().find((s) => s.name === 'shared')?.updatedAt).toBe(winner === 'from-a' ? 1 : 2)
  })
})
