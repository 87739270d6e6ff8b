import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createMemoryModel, type MemoryChange } from '../../crdt/memory-model.js'
import { codeAndField, counterIds, sync } from '../support/model-docs.js'

const author = '12D3KooWLaptop'

describe('memory model', () => {
  it('adds an entry and reads it back with every field', () => {
    const memory = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    const id = memory.add({ text: 'Alice prefers tea', topic: 'people/alice', tags: ['tea', 'prefs'], author }, 1000)
    expect(id).toBe('m1')
    expect(memory.get(id)).toEqual({
      id: 'm1',
      topic: 'people/alice',
      text: 'Alice prefers tea',
      tags: ['tea', 'prefs'],
      author,
      createdAt: 1000,
      updatedAt: 1000,
    })
    expect(memory.size()).toBe(1)
  })

  it('uses 32 hex characters of randomness for ids by default', () => {
    const memory = createMemoryModel(new Y.Doc())
    expect(memory.add({ text: 'x', topic: 't', author }, 1)).toMatch(/^[0-9a-f]{32}$/)
  })

  it('refuses bad input and names the field', () => {
    const memory = createMemoryModel(new Y.Doc())
    const ok = { text: 'fine', topic: 'ok', author }
    const cases: Array<[string, () => unknown]> = [
      ['text', () => memory.add({ ...ok, text: '' }, 1)],
      ['text', () => memory.add({ ...ok, text: '   ' }, 1)],
      ['text', () => memory.add({ ...ok, text: 'x'.repeat(20_001) }, 1)],
      ['topic', () => memory.add({ ...ok, topic: '' }, 1)],
      ['topic', () => memory.add({ ...ok, topic: 'a'.repeat(101) }, 1)],
      ['topic', () => memory.add({ ...ok, topic: 'semi;colon' }, 1)],
      ['topic', () => memory.add({ ...ok, topic: ' padded' }, 1)],
      ['tags', () => memory.add({ ...ok, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }, 1)],
      ['tags', () => memory.add({ ...ok, tags: [''] }, 1)],
      ['tags', () => memory.add({ ...ok, tags: ['x'.repeat(51)] }, 1)],
      ['tags', () => memory.add({ ...ok, tags: 'a,b' as unknown as string[] }, 1)],
      ['author', () => memory.add({ ...ok, author: '' }, 1)],
      ['author', () => memory.add({ ...ok, author: 'has space' }, 1)],
      ['now', () => memory.add(ok, Number.NaN)],
      ['now', () => memory.add(ok, -1)],
    ]
    for (const [field, fn] of cases) expect(codeAndField(fn)).toEqual({ code: 'CRDT_INPUT_INVALID', field })
    expect(memory.size()).toBe(0)
  })

  it('accepts the longest valid text and topic, and drops repeated tags', () => {
    const memory = createMemoryModel(new Y.Doc())
    const id = memory.add({ text: 'x'.repeat(20_000), topic: 'a'.repeat(100), tags: ['a', 'b', 'a'], author }, 1)
    expect(memory.get(id)?.tags).toEqual(['a', 'b'])
  })

  it('updates the patched fields and updatedAt only', () => {
    const memory = createMemoryModel(new Y.Doc())
    const id = memory.add({ text: 'old', topic: 'notes', tags: ['a'], author }, 10)
    const updated = memory.update(id, { text: 'new' }, 20)
    expect(updated).toMatchObject({ text: 'new', topic: 'notes', tags: ['a'], createdAt: 10, updatedAt: 20 })
    expect(memory.update(id, { topic: 'other', tags: [] }, 30)).toMatchObject({ text: 'new', topic: 'other', tags: [] })
  })

  it('refuses an update of a missing entry and an empty patch', () => {
    const memory = createMemoryModel(new Y.Doc())
    expect(() => memory.update('nope', { text: 'x' }, 1)).toThrow(expect.objectContaining({ code: 'MEMORY_ENTRY_NOT_FOUND', id: 'nope' }))
    const id = memory.add({ text: 'x', topic: 't', author }, 1)
    expect(codeAndField(() => memory.update(id, {}, 2))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'patch' })
    expect(codeAndField(() => memory.update(id, { topic: 'bad!' }, 2))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'topic' })
  })

  it('forgets an entry, and a second forget finds nothing', () => {
    const memory = createMemoryModel(new Y.Doc())
    const id = memory.add({ text: 'x', topic: 't', author }, 1)
    memory.forget(id)
    expect(memory.get(id)).toBeUndefined()
    expect(() => memory.forget(id)).toThrow(expect.objectContaining({ code: 'MEMORY_ENTRY_NOT_FOUND' }))
  })

  it('lists a topic most recently updated first and counts topics', () => {
    const memory = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    memory.add({ text: 'one', topic: 'a', author }, 1)
    memory.add({ text: 'two', topic: 'a', author }, 2)
    memory.add({ text: 'three', topic: 'b', author }, 3)
    memory.update('m1', { text: 'one again' }, 4)
    expect(memory.listByTopic('a').map((e) => e.id)).toEqual(['m1', 'm2'])
    expect(memory.listByTopic('zzz')).toEqual([])
    expect(memory.topics()).toEqual([
      { topic: 'a', count: 2 },
      { topic: 'b', count: 1 },
    ])
    expect(memory.all().map((e) => e.id)).toEqual(['m1', 'm2', 'm3'])
  })

  it('reports changed and deleted ids for local and remote transactions until unsubscribed', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const ma = createMemoryModel(a, { id: counterIds('a') })
    const mb = createMemoryModel(b, { id: counterIds('b') })
    const seen: MemoryChange[] = []
    const off = mb.onChange((e) => seen.push(e))
    mb.add({ text: 'local', topic: 't', author }, 1)
    ma.add({ text: 'remote', topic: 't', author }, 1)
    sync(a, b)
    mb.update('a1', { text: 'edited' }, 2)
    mb.forget('b1')
    off()
    off()
    mb.forget('a1')
    expect(seen).toEqual([
      { changed: ['b1'], deleted: [] },
      { changed: ['a1'], deleted: [] },
      { changed: ['a1'], deleted: [] },
      { changed: [], deleted: ['b1'] },
    ])
  })

  it('keeps concurrent edits of different fields and converges on the same field', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const ma = createMemoryModel(a, { id: counterIds('a') })
    const mb = createMemoryModel(b)
    const id = ma.add({ text: 'start', topic: 'shared', author }, 1)
    sync(a, b)
    ma.update(id, { text: 'text from a', tags: ['from-a'] }, 2)
    mb.update(id, { topic: 'moved', tags: ['from-b'] }, 3)
    sync(a, b)
    const onA = ma.get(id)
    expect(onA).toEqual(mb.get(id))
    expect(onA?.text).toBe('text from a')
    expect(onA?.topic).toBe('moved')
    expect([['from-a'], ['from-b']]).toContainEqual(onA?.tags)
  })

  it('converges when one machine forgets an entry another is updating', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const ma = createMemoryModel(a)
    const mb = createMemoryModel(b)
    const id = ma.add({ text: 'doomed', topic: 't', author }, 1)
    sync(a, b)
    ma.forget(id)
    mb.update(id, { text: 'still here?' }, 2)
    sync(a, b)
    expect(ma.get(id)).toBeUndefined()
    expect(mb.get(id)).toBeUndefined()
    expect(ma.all()).toEqual(mb.all())
  })

  it('hides an entry that a remote writer left malformed', () => {
    const doc = new Y.Doc()
    const memory = createMemoryModel(doc)
    const bad = new Y.Map<unknown>()
    bad.set('topic', 't')
    bad.set('text', 42)
    doc.getMap('entries').set('bad', bad)
    expect(memory.get('bad')).toBeUndefined()
    expect(memory.all()).toEqual([])
    expect(memory.size()).toBe(0)
  })

  it('hides a record a remote writer left with a field of the wrong type, and shows it once an edit repairs it', () => {
    const doc = new Y.Doc()
    const memory = createMemoryModel(doc)
    doc.getMap('entries').set('bad', { topic: 't', text: 42, tags: [], author, createdAt: 1, updatedAt: 1 })
    expect(memory.get('bad')).toBeUndefined()
    expect(memory.size()).toBe(0)
    doc.getMap('edits').set('bad/text', 'repaired')
    expect(memory.get('bad')?.text).toBe('repaired')
    expect(memory.size()).toBe(1)
    expect(memory.all().map((e) => e.id)).toEqual(['bad'])
  })

  it('counts and lists what a transaction wrote while the transaction is still open', () => {
    const doc = new Y.Doc()
    const memory = createMemoryModel(doc, { id: counterIds('m') })
    memory.add({ text: 'one', topic: 't', author }, 1)
    doc.transact(() => {
      memory.add({ text: 'two', topic: 't', author }, 2)
      memory.forget('m1')
      expect(memory.size()).toBe(1)
      expect(memory.listByTopic('t').map((e) => e.id)).toEqual(['m2'])
    })
    expect(memory.size()).toBe(1)
    expect(memory.topics()).toEqual([{ topic: 't', count: 1 }])
  })

  it('hands out copies: changing a returned entry changes nothing stored', () => {
    const memory = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    memory.add({ text: 'one', topic: 't', tags: ['x'], author }, 1)
    const listed = memory.all()[0]
    listed?.tags.push('y')
    const got = memory.get('m1')
    got?.tags.push('z')
    expect(memory.get('m1')?.tags).toEqual(['x'])
    expect(memory.all()[0]?.tags).toEqual(['x'])
  })
})
