import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createRelationshipsModel, type PlatformIdentity } from '../../crdt/relationships-model.js'
import { codeAndField, counterIds, sync } from '../support/model-docs.js'

const tg = (value: string): PlatformIdentity => ({ platform: 'telegram', value })
const mail = (value: string): PlatformIdentity => ({ platform: 'email', value })
const KEY = 'ab'.repeat(32)

describe('relationships model', () => {
  it('adds a person with normalised identities and defaults', () => {
    const people = createRelationshipsModel(new Y.Doc(), { id: counterIds('p') })
    const id = people.addPerson(
      { displayName: 'Alice', identities: [mail('Alice@Example.COM'), tg('12345'), { platform: 'threadline', value: KEY.toUpperCase() }] },
      100,
    )
    expect(people.get(id)).toEqual({
      id: 'p1',
      displayName: 'Alice',
      notes: '',
      significance: 0,
      lastInteraction: null,
      createdAt: 100,
      identities: [mail('alice@example.com'), tg('12345'), { platform: 'threadline', value: KEY }],
    })
    expect(people.resolve(mail('ALICE@example.com'))?.id).toBe(id)
  })

  it('refuses bad input and names the field', () => {
    const people = createRelationshipsModel(new Y.Doc())
    const cases: Array<[string, () => unknown]> = [
      ['displayName', () => people.addPerson({ displayName: '' }, 1)],
      ['displayName', () => people.addPerson({ displayName: 'x'.repeat(101) }, 1)],
      ['notes', () => people.addPerson({ displayName: 'A', notes: 'x'.repeat(10_001) }, 1)],
      ['significance', () => people.addPerson({ displayName: 'A', significance: 11 }, 1)],
      ['significance', () => people.addPerson({ displayName: 'A', significance: -0.5 }, 1)],
      ['significance', () => people.addPerson({ displayName: 'A', significance: Number.NaN }, 1)],
      ['identity.platform', () => people.addPerson({ displayName: 'A', identities: [{ platform: 'icq' as 'email', value: '1' }] }, 1)],
      ['identity.value', () => people.addPerson({ displayName: 'A', identities: [tg('12a')] }, 1)],
      ['identity.value', () => people.addPerson({ displayName: 'A', identities: [tg('0123')] }, 1)],
      ['identity.value', () => people.addPerson({ displayName: 'A', identities: [{ platform: 'whatsapp', value: '15551234567' }] }, 1)],
      ['identity.value', () => people.addPerson({ displayName: 'A', identities: [{ platform: 'threadline', value: 'ab'.repeat(31) }] }, 1)],
      ['identity.value', () => people.addPerson({ displayName: 'A', identities: [mail('not-an-email')] }, 1)],
      ['identity.value', () => people.addPerson({ displayName: 'A', identities: [mail('a b@example.com')] }, 1)],
      ['now', () => people.addPerson({ displayName: 'A' }, Number.POSITIVE_INFINITY)],
    ]
    for (const [field, fn] of cases) expect(codeAndField(fn)).toEqual({ code: 'CRDT_INPUT_INVALID', field })
    expect(people.list()).toEqual([])
  })

  it('updates fields and refuses unknown people', () => {
    const people = createRelationshipsModel(new Y.Doc())
    const id = people.addPerson({ displayName: 'Bob' }, 1)
    expect(people.update(id, { notes: 'likes chess', significance: 7 }, 2)).toMatchObject({ displayName: 'Bob', notes: 'likes chess', significance: 7 })
    expect(() => people.update('ghost', { notes: 'x' }, 3)).toThrow(expect.objectContaining({ code: 'PERSON_NOT_FOUND' }))
    expect(codeAndField(() => people.update(id, {}, 3))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'patch' })
  })

  it('moves an identity when it is linked to someone else', () => {
    const people = createRelationshipsModel(new Y.Doc())
    const a = people.addPerson({ displayName: 'A', identities: [{ platform: 'whatsapp', value: '+15551234567' }] }, 1)
    const b = people.addPerson({ displayName: 'B' }, 1)
    people.link(b, { platform: 'whatsapp', value: '+15551234567' })
    expect(people.get(a)?.identities).toEqual([])
    expect(people.resolve({ platform: 'whatsapp', value: '+15551234567' })?.id).toBe(b)
    expect(() => people.link('ghost', tg('1'))).toThrow(expect.objectContaining({ code: 'PERSON_NOT_FOUND' }))
  })

  it('keeps the latest interaction', () => {
    const people = createRelationshipsModel(new Y.Doc())
    const id = people.addPerson({ displayName: 'C' }, 1)
    people.recordInteraction(id, 50)
    people.recordInteraction(id, 20)
    expect(people.get(id)?.lastInteraction).toBe(50)
  })

  it('merges one person into another', () => {
    const doc = new Y.Doc()
    const people = createRelationshipsModel(doc, { id: counterIds('p') })
    const into = people.addPerson({ displayName: 'Dana', notes: 'met at work', significance: 3, identities: [tg('1')] }, 10)
    const from = people.addPerson({ displayName: 'dana (email)', notes: 'writes long emails', significance: 8, identities: [mail('d@x.io')] }, 5)
    people.recordInteraction(into, 100)
    people.recordInteraction(from, 200)
    const result = people.merge(into, from, 300)
    expect(result).toEqual({
      id: into,
      displayName: 'Dana',
      notes: 'met at work\n\nwrites long emails',
      significance: 8,
      lastInteraction: 200,
      createdAt: 5,
      identities: [mail('d@x.io'), tg('1')],
    })
    expect(doc.getMap('people').has(from)).toBe(false)
    expect(doc.getMap('merged').get(from)).toBe(into)
    expect(people.get(from)?.id).toBe(into)
    expect(people.resolve(mail('d@x.io'))?.id).toBe(into)
    expect(people.list().map((p) => p.id)).toEqual([into])
  })

  it('refuses to merge a person into itself or an unknown person', () => {
    const people = createRelationshipsModel(new Y.Doc())
    const a = people.addPerson({ displayName: 'A' }, 1)
    const b = people.addPerson({ displayName: 'B' }, 1)
    people.merge(a, b, 2)
    expect(codeAndField(() => people.merge(a, b, 3))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'fromId' })
    expect(() => people.merge(a, 'ghost', 3)).toThrow(expect.objectContaining({ code: 'PERSON_NOT_FOUND' }))
  })

  it('finds by id, by platform:value and by display name, and says when a name is ambiguous', () => {
    const people = createRelationshipsModel(new Y.Doc(), { id: counterIds('p') })
    const eve = people.addPerson({ displayName: 'Eve', identities: [mail('eve@example.com')] }, 1)
    people.addPerson({ displayName: 'Sam' }, 1)
    people.addPerson({ displayName: 'sam' }, 1)
    expect(people.find(eve).displayName).toBe('Eve')
    expect(people.find('email:EVE@example.com').id).toBe(eve)
    expect(people.find('eVe').id).toBe(eve)
    let ambiguous: unknown
    try {
      people.find('Sam')
    } catch (err) {
      ambiguous = err
    }
    expect(ambiguous).toMatchObject({ code: 'PERSON_NOT_FOUND', query: 'Sam' })
    expect((ambiguous as Error).message).toMatch(/ambiguous/)
    expect(() => people.find('Nobody')).toThrow(expect.objectContaining({ code: 'PERSON_NOT_FOUND' }))
    expect(() => people.find('telegram:999')).toThrow(expect.objectContaining({ code: 'PERSON_NOT_FOUND' }))
    expect(codeAndField(() => people.find('  '))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'query' })
  })

  it('lists live people by display name', () => {
    const people = createRelationshipsModel(new Y.Doc())
    for (const name of ['carol', 'Alice', 'bob']) people.addPerson({ displayName: name }, 1)
    expect(people.list().map((p) => p.displayName)).toEqual(['Alice', 'bob', 'carol'])
  })

  it('converges when one machine merges while another links to the merged-away person', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const pa = createRelationshipsModel(a, { id: counterIds('p') })
    const pb = createRelationshipsModel(b)
    const into = pa.addPerson({ displayName: 'Frank', identities: [tg('10')] }, 1)
    const from = pa.addPerson({ displayName: 'Frankie', identities: [tg('20')] }, 1)
    sync(a, b)
    pa.merge(into, from, 2)
    pb.link(from, mail('frankie@example.com'))
    sync(a, b)
    for (const identity of [tg('10'), tg('20'), mail('frankie@example.com')]) {
      expect(pa.resolve(identity)?.id).toBe(into)
      expect(pb.resolve(identity)).toEqual(pa.resolve(identity))
    }
    expect(pa.list()).toEqual(pb.list())
    expect(pa.get(into)?.identities).toHaveLength(3)
  })

  it('converges when two machines merge the same pair in opposite directions', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const pa = createRelationshipsModel(a, { id: counterIds('p') })
    const pb = createRelationshipsModel(b)
    const x = pa.addPerson({ displayName: 'X', identities: [tg('1')] }, 1)
    const y = pa.addPerson({ displayName: 'Y', identities: [tg('2')] }, 1)
    sync(a, b)
    pa.merge(x, y, 2)
    pb.merge(y, x, 2)
    sync(a, b)
    expect(pa.list()).toEqual(pb.list())
    expect(pa.resolve(tg('1'))).toEqual(pb.resolve(tg('1')))
    expect(pa.resolve(tg('2'))).toEqual(pb.resolve(tg('2')))
    expect(pa.get(x)).toEqual(pb.get(y))
    const [survivor] = pa.list()
    expect(pa.list()).toHaveLength(1)
    expect(survivor?.id).toBe([x, y].sort()[0])
    expect(survivor?.identities).toEqual([tg('1'), tg('2')])
    expect(survivor?.displayName).toMatch(/^[XY]$/)
  })

  it('converges when one machine updates the survivor of a merge made on another', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const pa = createRelationshipsModel(a)
    const pb = createRelationshipsModel(b)
    const into = pa.addPerson({ displayName: 'Hana', notes: 'first' }, 1)
    const from = pa.addPerson({ displayName: 'H.', notes: 'second' }, 1)
    sync(a, b)
    pa.merge(into, from, 2)
    pb.update(into, { significance: 4 }, 2)
    sync(a, b)
    expect(pa.list()).toEqual(pb.list())
    expect(pa.get(from)?.id).toBe(into)
    expect(pa.get(into)?.notes).toBe('first\n\nsecond')
  })

  it('keeps concurrent edits of different fields', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const pa = createRelationshipsModel(a)
    const pb = createRelationshipsModel(b)
    const id = pa.addPerson({ displayName: 'Gus' }, 1)
    sync(a, b)
    pa.update(id, { displayName: 'Gustav' }, 2)
    pb.update(id, { significance: 9 }, 2)
    pb.recordInteraction(id, 50)
    sync(a, b)
    expect(pa.get(id)).toEqual(pb.get(id))
    expect(pa.get(id)).toMatchObject({ displayName: 'Gustav', significance: 9, lastInteraction: 50 })
  })
})
