/**
 * The schema check of peers' updates (update-schema.ts, through the remote applier): each
 * model's own writes pass, including concurrent edits made on two documents and deletions;
 * every shape a model never writes is refused with its reason, and nothing of it is applied.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DOC_SCHEMAS } from '../../crdt/documents.js'
import { SyncUpdateRejectedError } from '../../crdt/errors.js'
import { createChannelsModel } from '../../crdt/channels-model.js'
import { createConversationsModel } from '../../crdt/conversations-model.js'
import { createJobsModel } from '../../crdt/jobs-model.js'
import { MEMORY_SCHEMA, createMemoryModel } from '../../crdt/memory-model.js'
import { createRelationshipsModel } from '../../crdt/relationships-model.js'
import { createRemoteApplier, type RemoteApplyOptions } from '../../crdt/remote-apply.js'
import { createSecretsModel } from '../../crdt/secrets-model.js'
import type { DocName } from '../../crdt/sealed-update.js'
import type { DocumentSchema } from '../../crdt/update-schema.js'
import { createSystemClock } from '../../runtime/index.js'
import { counterIds } from '../support/model-docs.js'

const NOW = Date.UTC(2030, 0, 1)
const SYNC = Symbol('sync')

function applier(options: Partial<RemoteApplyOptions> = {}) {
  return createRemoteApplier({ clock: createSystemClock(), pause: () => Promise.resolve() }, options)
}

async function apply(doc: Y.Doc, schema: DocumentSchema, update: Uint8Array, options: Partial<RemoteApplyOptions> = {}): Promise<void> {
  await applier(options).apply(doc, schema, update, 'peer', () => false)
}

async function reasonOf(doc: Y.Doc, schema: DocumentSchema, update: Uint8Array, options: Partial<RemoteApplyOptions> = {}): Promise<string> {
  const before = Y.encodeStateVector(doc)
  try {
    await apply(doc, schema, update, options)
  } catch (err) {
    expect(err).toBeInstanceOf(SyncUpdateRejectedError)
    // Refused before anything was applied, and nothing parked for later.
    expect(Y.encodeStateVector(doc)).toEqual(before)
    expect(doc.store.pendingStructs).toBeNull()
    expect(doc.store.pendingDs).toBeNull()
    return (err as SyncUpdateRejectedError).reason
  }
  throw new Error('expected a refusal')
}

/** Two machines' documents; every update either makes locally is recorded in the order made. */
function pair(): { a: Y.Doc; b: Y.Doc; made: Uint8Array[]; sync(): void } {
  const a = new Y.Doc()
  const b = new Y.Doc()
  const made: Uint8Array[] = []
  for (const d of [a, b]) d.on('update', (u: Uint8Array, origin: unknown) => origin !== SYNC && made.push(u))
  return {
    a,
    b,
    made,
    sync() {
      const fromA = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b))
      const fromB = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a))
      Y.applyUpdate(b, fromA, SYNC)
      Y.applyUpdate(a, fromB, SYNC)
    },
  }
}

/** A receiver accepts every update in the order it was made, and the whole state as a step 2, and ends equal. */
async function expectAllAccepted(doc: DocName, p: ReturnType<typeof pair>): Promise<void> {
  p.sync()
  const schema = DOC_SCHEMAS[doc]
  const receiver = new Y.Doc()
  for (const u of p.made) await apply(receiver, schema, u)
  const fresh = new Y.Doc()
  await apply(fresh, schema, Y.encodeStateAsUpdate(p.a))
  // And a's full state on top of b's (all known but the delete set: a step 2 after a reconnect).
  await apply(p.b, schema, Y.encodeStateAsUpdate(p.a))
  for (const d of [receiver, fresh, p.b]) {
    expect(Y.encodeStateVector(d)).toEqual(Y.encodeStateVector(p.a))
    for (const name of p.a.share.keys()) expect(d.getMap(name).toJSON(), name).toEqual(p.a.getMap(name).toJSON())
  }
}

/** An update that does one thing to a document built from `base`. */
function change(base: Y.Doc | null, fn: (d: Y.Doc) => void): Uint8Array {
  const d = new Y.Doc()
  if (base !== null) Y.applyUpdate(d, Y.encodeStateAsUpdate(base))
  const sv = Y.encodeStateVector(d)
  fn(d)
  return Y.encodeStateAsUpdate(d, sv)
}

/** A V1 update of hand-made items (one client each), for shapes no Yjs type writes. */
function encodeItems(items: Y.Item[]): Uint8Array {
  const enc = new Y.UpdateEncoderV1()
  enc.writeLen(items.length)
  for (const item of items) {
    enc.writeLen(1)
    enc.writeClient(item.id.client)
    enc.writeLen(item.id.clock)
    item.write(enc, 0)
  }
  enc.writeLen(0)
  return enc.toUint8Array()
}

function memoryWithEntry(): { doc: Y.Doc; id: string } {
  const doc = new Y.Doc()
  const id = createMemoryModel(doc, { id: counterIds('m') }).add({ text: 'the real entry', topic: 't', author: 'laptop' }, NOW)
  return { doc, id }
}

describe('every model passes its own schema', () => {
  it('memory: adds, edits, concurrent edits of one entry on two machines, forgets', async () => {
    const p = pair()
    const ma = createMemoryModel(p.a, { id: counterIds('a') })
    const mb = createMemoryModel(p.b, { id: counterIds('b') })
    const one = ma.add({ text: 'tea at four', topic: 'habits', tags: ['tea', 'afternoon'], author: 'laptop' }, NOW)
    const two = mb.add({ text: 'x'.repeat(20_000), topic: 'long/notes', tags: Array.from({ length: 32 }, (_, i) => `t${i}`.padEnd(50, 'x')), author: 'server' }, NOW)
    p.sync()
    ma.update(one, { text: 'tea at five', tags: ['tea'] }, NOW + 1)
    mb.update(one, { text: 'tea at six', topic: 'evening' }, NOW + 2)
    mb.update(two, { text: 'short now' }, NOW + 3)
    p.sync()
    ma.forget(two)
    mb.update(one, { tags: [] }, NOW + 4)
    await expectAllAccepted('memory', p)
    expect(createMemoryModel(p.a).size()).toBe(1)
  })

  it('relationships: people, identities, concurrent merges in opposite directions, interactions', async () => {
    const p = pair()
    const ra = createRelationshipsModel(p.a, { id: counterIds('a') })
    const rb = createRelationshipsModel(p.b, { id: counterIds('b') })
    const ada = ra.addPerson({ displayName: 'Ada', notes: 'n'.repeat(10_000), identities: [{ platform: 'telegram', value: '12345' }] }, NOW)
    const lovelace = ra.addPerson({ displayName: 'Ada L.', identities: [{ platform: 'email', value: `${'a'.repeat(240)}@example.org` }] }, NOW)
    p.sync()
    ra.merge(ada, lovelace, NOW + 1)
    rb.merge(lovelace, ada, NOW + 1)
    rb.link(ada, { platform: 'threadline', value: 'f'.repeat(64) })
    ra.recordInteraction(ada, NOW + 5)
    rb.update(lovelace, { significance: 7 }, NOW + 6)
    await expectAllAccepted('relationships', p)
  })

  it('jobs: definitions, concurrent edits, runs and outcomes, removal', async () => {
    const p = pair()
    const ja = createJobsModel(p.a, { id: counterIds('a') })
    const jb = createJobsModel(p.b, { id: counterIds('b') })
    ja.define({ name: 'daily-digest', cron: '0 9 * * *', prompt: 'p'.repeat(20_000), enabled: true, affinity: null }, NOW)
    p.sync()
    ja.setEnabled('daily-digest', false, NOW + 1)
    jb.define({ name: 'daily-digest', cron: '0 10 * * *', prompt: 'Summarise', enabled: true, affinity: 'server-1' }, NOW + 2)
    const run = jb.recordRun({ job: 'daily-digest', scheduledFor: NOW, machine: 'server-1', term: 3, startedAt: NOW, finishedAt: null, status: 'running', summary: null })
    p.sync()
    ja.finishRun(run, { status: 'succeeded', finishedAt: NOW + 9, summary: 's'.repeat(20_000) })
    jb.remove('daily-digest')
    await expectAllAccepted('jobs', p)
  })

  it('secrets: set, overwritten on two machines at once, removed', async () => {
    const p = pair()
    const sa = createSecretsModel(p.a)
    const sb = createSecretsModel(p.b)
    sa.set('TELEGRAM_TOKEN', 'v'.repeat(64 * 1024), NOW)
    p.sync()
    sa.set('TELEGRAM_TOKEN', 'from a', NOW + 1)
    sb.set('TELEGRAM_TOKEN', 'from b', NOW + 1)
    sb.set('OTHER', 'x', NOW + 2)
    p.sync()
    sa.remove('OTHER')
    await expectAllAccepted('secrets', p)
  })
})

describe('shapes no model writes are refused as schema', () => {
  const { doc: memory, id } = memoryWithEntry()
  const real = (): Y.Doc => {
    const d = new Y.Doc()
    Y.applyUpdate(d, Y.encodeStateAsUpdate(memory))
    return d
  }
  const entryItem = (d: Y.Doc): Y.Item => d.getMap('entries')._map.get(id) as Y.Item
  const cases: Array<[string, () => Uint8Array]> = [
    ['an unknown root', () => change(memory, (d) => d.getMap('other').set('k', 1))],
    ['an insert into the sequence of a root', () => change(memory, (d) => d.getArray('entries').insert(0, [1]))],
    ['text', () => change(memory, (d) => d.getText('entries').insert(0, 'x'))],
    ['a nested map where the schema has plain values', () => change(memory, (d) => d.getMap('entries').set('n1', new Y.Map()))],
    ['a nested text', () => change(memory, (d) => d.getMap('entries').set('n2', new Y.Text('x')))],
    ['a nested array', () => change(memory, (d) => d.getMap('entries').set('n3', new Y.Array()))],
    ['an xml fragment', () => change(memory, (d) => d.getMap('entries').set('n4', new Y.XmlFragment()))],
    ['binary', () => change(memory, (d) => d.getMap('entries').set('n5', new Uint8Array([1, 2, 3])))],
    ['a subdocument', () => change(memory, (d) => d.getMap('entries').set('n6', new Y.Doc()))],
    ['a value that is not JSON (undefined)', () => change(memory, (d) => d.getMap('edits').set('n7/text', undefined))],
    ['a value that is not JSON (bigint)', () => change(memory, (d) => d.getMap('edits').set('n8/text', 10n as unknown as number))],
    ['a key over its bound', () => change(memory, (d) => d.getMap('entries').set('k'.repeat(257), { text: 'x' }))],
    ['a value over its bound', () => change(memory, (d) => d.getMap('edits').set('n9/text', 'x'.repeat(33 * 1024)))],
    ['a value nested too deep', () => change(memory, (d) => d.getMap('edits').set('n10/tags', JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown[]))],
    [
      // The bypass of the scratch-document check: no parent in the encoding, inherited from an
      // entry of the real document through the origin.
      'text inserted after an entry of the document',
      () => encodeItems([new Y.Item(Y.createID(777, 0), null, entryItem(memory).id, null, null, null, null, new Y.ContentString('x'))]),
    ],
    [
      'a nested map inherited through an origin in the document',
      () => encodeItems([new Y.Item(Y.createID(778, 0), null, entryItem(memory).id, null, null, null, null, new Y.ContentType(new Y.Map()))]),
    ],
    [
      'a map entry with a right origin',
      () => encodeItems([new Y.Item(Y.createID(779, 0), null, null, null, entryItem(memory).id, null, null, new Y.ContentAny([1]))]),
    ],
    ['a map entry of several values', () => encodeItems([new Y.Item(Y.createID(780, 0), null, null, null, null, 'edits' as never, 'x/text', new Y.ContentAny([1, 2]))])],
  ]
  for (const [what, make] of cases) {
    it(`refuses ${what}`, async () => {
      const d = real()
      expect(await reasonOf(d, MEMORY_SCHEMA, make())).toBe('schema')
      expect(d.share.has('other')).toBe(false)
      expect(entryItem(d).content).toBeInstanceOf(Y.ContentAny)
    })
  }

  it('refuses a record field that is not in the record, a map nested in a record, a plain value where a record goes', async () => {
    const base = new Y.Doc()
    createJobsModel(base).define({ name: 'daily', cron: '0 9 * * *', prompt: 'p', enabled: true, affinity: null }, NOW)
    const jobs = DOC_SCHEMAS.jobs
    const record = (d: Y.Doc): Y.Map<unknown> => d.getMap('jobs').get('daily') as Y.Map<unknown>
    const copy = (): Y.Doc => {
      const d = new Y.Doc()
      Y.applyUpdate(d, Y.encodeStateAsUpdate(base))
      return d
    }
    expect(await reasonOf(copy(), jobs, change(base, (d) => record(d).set('bogus', 1)))).toBe('schema')
    expect(await reasonOf(copy(), jobs, change(base, (d) => record(d).set('cron', new Y.Map())))).toBe('schema')
    expect(await reasonOf(copy(), jobs, change(base, (d) => d.getMap('jobs').set('plain', 'value')))).toBe('schema')
    // A new record with a bad field in the same update: the parent is an item of the update.
    expect(await reasonOf(copy(), jobs, change(base, (d) => {
      const m = new Y.Map<unknown>()
      d.getMap('runs').set('r1', m)
      m.set('nope', 1)
    }))).toBe('schema')
  })

  it("accepts the channels and conversations models' writes, and refuses a root they do not have", async () => {
    const p = pair()
    const channels = createChannelsModel(p.a)
    channels.configure({ channel: 'telegram', apiRoot: 'http://127.0.0.1:1', owner: '42', botId: '7', botUsername: 'kira_bot', addedAt: NOW })
    channels.advanceOffset('telegram', 10, 3, NOW)
    channels.setAllowed('telegram', '42', true, NOW)
    createChannelsModel(p.b).setAllowed('telegram', '43', false, NOW)
    await expectAllAccepted('channels', p)
    const q = pair()
    const conv = createConversationsModel(q.a)
    conv.ensureConversation({ id: 'telegram:42', channel: 'telegram', ref: { chatId: '42', topicId: null }, title: 'Ada', personId: null }, NOW)
    conv.recordInbound({ id: 'telegram:7:1', conversationId: 'telegram:42', platformId: '1', personId: null, text: 'hi', at: NOW })
    conv.markHandled('telegram:7:1', 3, 'laptop', NOW + 1)
    conv.enqueue({ id: 'reply:telegram:7:1', conversationId: 'telegram:42', text: 'hello', by: 'laptop' }, NOW + 1)
    conv.markSending('reply:telegram:7:1', 3, 1, 'laptop', NOW + 2)
    conv.markSent('reply:telegram:7:1', '2', 3, NOW + 3)
    conv.prune(NOW + 10, 1)
    await expectAllAccepted('conversations', q)
    expect(await reasonOf(new Y.Doc(), DOC_SCHEMAS.channels, change(null, (d) => d.getMap('elsewhere').set('telegram', 1)))).toBe('schema')
  })
})

describe('every root of every schema refuses what it does not hold', () => {
  for (const doc of ['memory', 'relationships', 'jobs', 'secrets', 'channels', 'conversations'] as const) {
    for (const [root, spec] of Object.entries(DOC_SCHEMAS[doc].roots)) {
      it(`${doc}/${root}: a key over ${spec.maxKeyLength}, a sequence insert, text, and the wrong kind of value`, async () => {
        const schema = DOC_SCHEMAS[doc]
        const refused = async (fn: (d: Y.Doc) => void): Promise<string> => reasonOf(new Y.Doc(), schema, change(null, fn))
        const fine = spec.value.kind === 'plain' ? 'v' : new Y.Map()
        expect(await refused((d) => d.getMap(root).set('k'.repeat(spec.maxKeyLength + 1), fine))).toBe('schema')
        expect(await refused((d) => d.getArray(root).insert(0, ['v']))).toBe('schema')
        expect(await refused((d) => d.getMap(root).set('k', new Y.Text('v')))).toBe('schema')
        if (spec.value.kind === 'plain') {
          expect(await refused((d) => d.getMap(root).set('k', new Y.Map()))).toBe('schema')
          expect(await refused((d) => d.getMap(root).set('k', 'x'.repeat((spec.value as { maxSize: number }).maxSize + 1)))).toBe('schema')
        } else {
          const { fields, maxSize } = spec.value
          expect(await refused((d) => d.getMap(root).set('k', 'plain'))).toBe('schema')
          expect(await refused((d) => d.getMap(root).set('k', new Y.Map()).set('not-a-field', 1))).toBe('schema')
          expect(await refused((d) => d.getMap(root).set('k', new Y.Map()).set(fields[0] as string, 'x'.repeat(maxSize + 1)))).toBe('schema')
          // The same record with a field it has is fine.
          await apply(new Y.Doc(), schema, change(null, (d) => d.getMap(root).set('k', new Y.Map()).set(fields[0] as string, 'x')))
        }
        await apply(new Y.Doc(), schema, change(null, (d) => d.getMap(root).set('k'.repeat(spec.maxKeyLength), spec.value.kind === 'plain' ? 'v' : new Y.Map())))
        expect(await refused((d) => d.getMap(`${root}-other`).set('k', 'v'))).toBe('schema')
      })
    }
  }
})

describe('dependencies', () => {
  it('refuses an update whose earlier structs are missing as missing-dependency, and applies it once they are there', async () => {
    const source = new Y.Doc()
    const model = createMemoryModel(source, { id: counterIds('m') })
    const made: Uint8Array[] = []
    source.on('update', (u: Uint8Array) => made.push(u))
    const first = model.add({ text: 'one', topic: 't', author: 'laptop' }, NOW)
    model.update(first, { text: 'two' }, NOW + 1)
    const receiver = new Y.Doc()
    expect(await reasonOf(receiver, MEMORY_SCHEMA, made[1] as Uint8Array)).toBe('missing-dependency')
    await apply(receiver, MEMORY_SCHEMA, made[0] as Uint8Array)
    await apply(receiver, MEMORY_SCHEMA, made[1] as Uint8Array)
    expect(createMemoryModel(receiver).get(first)?.text).toBe('two')
  })

  it('refuses an origin no one holds, and a deletion of structs no one holds, as missing-dependency', async () => {
    const orphan = encodeItems([new Y.Item(Y.createID(900, 0), null, Y.createID(901, 5), null, null, null, null, new Y.ContentAny([1]))])
    expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, orphan)).toBe('missing-dependency')
    const { doc } = memoryWithEntry()
    const deletion = change(doc, (d) => d.getMap('entries').clear())
    expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, deletion)).toBe('missing-dependency')
  })

  it('applies an update that is all known without changing anything', async () => {
    const { doc } = memoryWithEntry()
    const copy = new Y.Doc()
    await apply(copy, MEMORY_SCHEMA, Y.encodeStateAsUpdate(doc))
    let updates = 0
    copy.on('update', () => updates++)
    await apply(copy, MEMORY_SCHEMA, Y.encodeStateAsUpdate(doc))
    expect(updates).toBe(0)
  })
})

describe('malformed and oversized updates', () => {
  const { doc } = memoryWithEntry()
  const good = Y.encodeStateAsUpdate(doc)
  it('refuses bytes that are not a Yjs update, a truncated one, and trailing bytes as malformed', async () => {
    expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, new TextEncoder().encode('not a yjs update at all'))).toBe('malformed')
    for (const n of [1, 5, good.length - 1]) expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, good.subarray(0, n))).toBe('malformed')
    expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, Uint8Array.from([...good, 0]))).toBe('malformed')
  })

  it('refuses a struct count no input could hold as malformed, and more structs or delete ranges than allowed as over-limit', async () => {
    expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, Uint8Array.from([1, 0xff, 0xff, 0xff, 0x0f, 1, 0]))).toBe('malformed')
    const many = change(null, (d) => {
      for (let i = 0; i < 10; i++) d.getMap('entries').set(`e${i}`, { text: 'x' })
    })
    expect(await reasonOf(new Y.Doc(), MEMORY_SCHEMA, many, { maxStructs: 5 })).toBe('over-limit')
    const base = new Y.Doc()
    Y.applyUpdate(base, many)
    const deletions = change(base, (d) => {
      for (let i = 0; i < 10; i += 2) d.getMap('entries').delete(`e${i}`)
    })
    const target = new Y.Doc()
    Y.applyUpdate(target, many)
    expect(await reasonOf(target, MEMORY_SCHEMA, deletions, { maxDeleteRanges: 2 })).toBe('over-limit')
    expect(await reasonOf(target, MEMORY_SCHEMA, many, { maxBytes: 10 })).toBe('over-limit')
  })
})
