import Database from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as Y from 'yjs'
import { createMemoryIndex, type MemoryIndex } from '../../crdt/memory-index.js'
import { createMemoryModel, type MemoryModel } from '../../crdt/memory-model.js'
import { mulberry32 as prng } from '../support/seeded-random.js'

const author = 'laptop'

function counterIds(prefix: string): () => string {
  let n = 0
  return () => `${prefix}${String(++n).padStart(5, '0')}`
}

function open(model: MemoryModel, db?: Database.Database): MemoryIndex {
  const index = createMemoryIndex(db === undefined ? { model } : { model, db })
  onTestFinished(() => index.close())
  return index
}

const WORDS = ['apple', 'banana', 'cherry', 'delta', 'echo', 'fox', 'garden', 'harbor', 'island', 'jungle', 'kite', 'lemon']

describe('memory index', () => {
  it('indexes the entries the model already holds when created', () => {
    const model = createMemoryModel(new Y.Doc())
    model.add({ text: 'the harbor at dawn', topic: 'places', author }, 1)
    const index = open(model)
    expect(index.size()).toBe(1)
    expect(index.search('harbor').map((r) => r.text)).toEqual(['the harbor at dawn'])
  })

  it('ranks better matches first with a positive score and a bracketed snippet', () => {
    const model = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    const index = open(model)
    model.add({ text: 'a fox ran past the garden', topic: 'animals', author }, 1)
    model.add({ text: 'fox fox fox', topic: 'animals', author }, 2)
    model.add({ text: 'nothing to see', topic: 'animals', author }, 3)
    const results = index.search('fox')
    expect(results.map((r) => r.id)).toEqual(['m00002', 'm00001'])
    expect(results[0]?.score).toBeGreaterThan(results[1]?.score ?? Infinity)
    expect(results[1]).toMatchObject({ topic: 'animals', text: 'a fox ran past the garden', snippet: 'a [fox] ran past the garden' })
  })

  it('elides long text around the hit in the snippet', () => {
    const model = createMemoryModel(new Y.Doc())
    const index = open(model)
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`)
    words[30] = 'needle'
    model.add({ text: words.join(' '), topic: 't', author }, 1)
    const [hit] = index.search('needle')
    expect(hit?.snippet).toContain('[needle]')
    expect(hit?.snippet).toContain('…')
    expect(hit?.snippet.split(' ').length).toBeLessThanOrEqual(13)
  })

  it('matches across diacritics and case and needs every word', () => {
    const model = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    const index = open(model)
    model.add({ text: 'Meet at the Café Müller', topic: 't', author }, 1)
    model.add({ text: 'the cafe is closed', topic: 't', author }, 2)
    expect(index.search('CAFE').map((r) => r.id).sort()).toEqual(['m00001', 'm00002'])
    expect(index.search('cafe muller').map((r) => r.id)).toEqual(['m00001'])
  })

  it('with any, matches entries holding any of the words, those holding more first', () => {
    const model = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    const index = open(model)
    model.add({ text: 'the cafe is closed', topic: 't', author }, 1)
    model.add({ text: 'mondays at the harbor cafe', topic: 't', author }, 2)
    model.add({ text: 'nothing here', topic: 't', author }, 3)
    expect(index.search('harbor cafe open on mondays?').map((r) => r.id)).toEqual([])
    expect(index.search('harbor cafe open on mondays?', { any: true }).map((r) => r.id)).toEqual(['m00002', 'm00001'])
  })

  it('searches tags as well as text', () => {
    const model = createMemoryModel(new Y.Doc())
    const index = open(model)
    const id = model.add({ text: 'weekly call notes', topic: 't', tags: ['urgent'], author }, 1)
    expect(index.search('urgent').map((r) => r.id)).toEqual([id])
  })

  it('filters by topic', () => {
    const model = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    const index = open(model)
    model.add({ text: 'lemon tart recipe', topic: 'food', author }, 1)
    model.add({ text: 'lemon yellow paint', topic: 'house/paint', author }, 2)
    expect(index.search('lemon', { topic: 'house/paint' }).map((r) => r.id)).toEqual(['m00002'])
    expect(index.search('lemon', { topic: 'nowhere' })).toEqual([])
    expect(index.search('lemon')).toHaveLength(2)
  })

  it('limits results to 10 by default and refuses limits outside 1..100', () => {
    const model = createMemoryModel(new Y.Doc())
    const index = open(model)
    for (let i = 0; i < 30; i++) model.add({ text: `kite number ${i}`, topic: 't', author }, i)
    expect(index.search('kite')).toHaveLength(10)
    expect(index.search('kite', { limit: 25 })).toHaveLength(25)
    for (const limit of [0, 101, 1.5, Number.NaN]) {
      expect(() => index.search('kite', { limit })).toThrow(expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'limit' }))
    }
  })

  it('follows updates and forgets', () => {
    const model = createMemoryModel(new Y.Doc())
    const index = open(model)
    const id = model.add({ text: 'apple pie', topic: 't', author }, 1)
    model.update(id, { text: 'banana bread' }, 2)
    expect(index.search('apple')).toEqual([])
    expect(index.search('banana').map((r) => r.id)).toEqual([id])
    model.forget(id)
    expect(index.search('banana')).toEqual([])
    expect(index.size()).toBe(0)
  })

  it('receives changes applied from another machine', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const remote = createMemoryModel(a)
    const local = createMemoryModel(b)
    const index = open(local)
    const id = remote.add({ text: 'island ferry times', topic: 'travel', author }, 1)
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    expect(index.search('ferry', { topic: 'travel' }).map((r) => r.id)).toEqual([id])
    const before = Y.encodeStateVector(b)
    remote.update(id, { text: 'island bus times' }, 2)
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, before))
    expect(index.search('ferry')).toEqual([])
    expect(index.search('bus').map((r) => r.id)).toEqual([id])
    remote.forget(id)
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    expect(index.size()).toBe(0)
  })

  it('answers exactly as a fresh rebuild after a long mixed sequence of changes', () => {
    const seed = 20240611
    const random = prng(seed)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
    const sentence = (): string => Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick(WORDS)).join(' ')
    const model = createMemoryModel(new Y.Doc(), { id: counterIds('m') })
    const live = open(model)
    const ids: string[] = []
    for (let step = 0; step < 600; step++) {
      const roll = random()
      if (roll < 0.5 || ids.length === 0) {
        ids.push(model.add({ text: sentence(), topic: pick(['a', 'b', 'c']), tags: [pick(WORDS)], author }, step))
      } else if (roll < 0.8) {
        model.update(pick(ids), random() < 0.5 ? { text: sentence() } : { topic: pick(['a', 'b', 'c']) }, step)
      } else {
        const id = pick(ids)
        ids.splice(ids.indexOf(id), 1)
        model.forget(id)
      }
    }
    const fresh = open(model, new Database(':memory:'))
    expect(fresh.size(), `seed ${seed}`).toBe(live.size())
    for (const query of [...WORDS, 'apple banana', 'fox fox', 'kite lemon echo']) {
      for (const topic of [undefined, 'a', 'b']) {
        const options = topic === undefined ? { limit: 100 } : { limit: 100, topic }
        const want = fresh.search(query, options)
        const got = live.search(query, options)
        expect(got.map((r) => r.id), `seed ${seed}, query ${query}, topic ${topic}`).toEqual(want.map((r) => r.id))
        got.forEach((r, i) => expect(r.score).toBeCloseTo(want[i]?.score ?? Number.NaN, 9))
      }
    }
    expect(live.rebuild()).toBe(model.size())
    expect(live.search('apple', { limit: 100 })).toEqual(fresh.search('apple', { limit: 100 }))
  })

  describe('filled in the background', () => {
    /** A scheduler the test runs by hand: steps wait in a list until run. */
    const manual = () => {
      const steps: Array<() => void> = []
      const schedule = (step: () => void) => {
        steps.push(step)
        return { cancel: () => void steps.splice(steps.indexOf(step) >>> 0, 1) }
      }
      return { steps, schedule }
    }
    const filledModel = (count: number, seed: number) => {
      const random = prng(seed)
      const model = createMemoryModel(new Y.Doc(), { id: counterIds('w') })
      const ids: string[] = []
      const sentence = (): string => Array.from({ length: 1 + Math.floor(random() * 8) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')
      for (let i = 0; i < count; i++) ids.push(model.add({ text: sentence(), topic: 'a', author }, i))
      return { model, ids, random, sentence }
    }
    const sameAnswers = (live: MemoryIndex, fresh: MemoryIndex, seed: number): void => {
      expect(live.size(), `seed ${seed}`).toBe(fresh.size())
      for (const query of [...WORDS, 'apple banana', 'kite lemon echo']) {
        expect(live.search(query, { limit: 100 }).map((r) => r.id), `seed ${seed}, query ${query}`).toEqual(fresh.search(query, { limit: 100 }).map((r) => r.id))
      }
    }

    it('indexes a chunk per step, and changes made during the fill (to entries filled or not yet) are indexed once', () => {
      const seed = 20261124
      const { model, ids, random, sentence } = filledModel(300, seed)
      const live = open(model)
      const { steps, schedule } = manual()
      live.warm(schedule, 25)
      let stepsRun = 0
      while (steps.length > 0) {
        ;(steps.shift() as () => void)()
        stepsRun++
        for (let k = 0; k < 3; k++) {
          const roll = random()
          if (roll < 0.4) ids.push(model.add({ text: sentence(), topic: 'b', author }, 1000 + stepsRun))
          else if (roll < 0.8) model.update(ids[Math.floor(random() * ids.length)] as string, { text: sentence() }, 2000 + stepsRun)
          else model.forget(ids.splice(Math.floor(random() * ids.length), 1)[0] as string)
        }
      }
      expect(stepsRun).toBe(12)
      expect(live.isFilled()).toBe(true)
      sameAnswers(live, open(model, new Database(':memory:')), seed)
    })

    it('skips entries a full change queue already indexed in the middle of the fill', () => {
      const { model, ids } = filledModel(1200, 11)
      const live = open(model)
      const { steps, schedule } = manual()
      live.warm(schedule, 100)
      ;(steps.shift() as () => void)()
      // More distinct changes than the queue holds before it applies itself: indexed now, ahead of the fill.
      for (const id of ids) model.update(id, { text: `${WORDS[ids.indexOf(id) % WORDS.length]} again` }, 5000)
      while (steps.length > 0) (steps.shift() as () => void)()
      sameAnswers(live, open(model, new Database(':memory:')), 11)
    })

    it('finishes the fill at once when searched before it ends', () => {
      const { model } = filledModel(200, 7)
      const live = open(model)
      const { steps, schedule } = manual()
      live.warm(schedule, 50)
      ;(steps.shift() as () => void)()
      expect(live.isFilled()).toBe(false)
      sameAnswers(live, open(model, new Database(':memory:')), 7)
      // The step still waiting finds the work done and schedules nothing more.
      ;(steps.shift() as () => void)()
      expect(steps).toEqual([])
    })

    it('resolves filled() only when the background fill ends, leaving each chunk to its own step', async () => {
      const { model } = filledModel(200, 13)
      const live = open(model)
      const { steps, schedule } = manual()
      live.warm(schedule, 50)
      let done = false
      const waiting = live.filled().then(() => void (done = true))
      for (let step = 0; step < 3; step++) {
        ;(steps.shift() as () => void)()
        await Promise.resolve()
        // A waiting search makes no step do more than its chunk: the fill is not finished at once.
        expect([done, live.isFilled(), steps.length]).toEqual([false, false, 1])
      }
      ;(steps.shift() as () => void)()
      await waiting
      expect(live.isFilled()).toBe(true)
      expect(steps).toEqual([])
      sameAnswers(live, open(model, new Database(':memory:')), 13)
      await live.filled()
    })

    it('rejects a filled() still waiting when the index is closed', async () => {
      const { model } = filledModel(100, 17)
      const live = createMemoryIndex({ model })
      const { schedule } = manual()
      live.warm(schedule, 10)
      const waiting = live.filled()
      live.close()
      await expect(waiting).rejects.toMatchObject({ code: 'CRDT_DOCUMENTS_CLOSED' })
    })

    it('cancels its waiting step when closed', () => {
      const { model } = filledModel(100, 9)
      const live = createMemoryIndex({ model })
      const { steps, schedule } = manual()
      live.warm(schedule, 10)
      expect(steps).toHaveLength(1)
      live.close()
      expect(steps).toEqual([])
    })
  })

  it('never lets a hostile query reach FTS5 as syntax', () => {
    const model = createMemoryModel(new Y.Doc())
    const index = open(model)
    const id = model.add({ text: 'salt and pepper or not sugar: near the (jar) "quoted" star* x-ray', topic: 't', author }, 1)
    const queries = [
      '"',
      '"unbalanced',
      "it's",
      '(salt',
      'salt)',
      'AND OR NOT',
      'salt AND',
      'NOT salt',
      'NEAR(salt pepper)',
      'salt*',
      '*',
      'text:salt',
      'id:1 OR 1=1',
      '-salt',
      'x-ray',
      '^salt',
      '{text}: salt',
      "'; DROP TABLE memory_fts; --",
      'salt\u0000pepper',
      '\ud800 broken surrogate',
      'ümlaut 日本語 😀 عربى',
      'a'.repeat(10_240),
      'salt '.repeat(2048),
      '( ) " * : - + ^ '.repeat(600),
    ]
    for (const query of queries) {
      try {
        expect(Array.isArray(index.search(query))).toBe(true)
      } catch (err) {
        expect(err, `query ${JSON.stringify(query.slice(0, 40))}`).toMatchObject({ code: 'CRDT_INPUT_INVALID', field: 'query' })
      }
    }
    expect(index.search('AND OR NOT').map((r) => r.id)).toEqual([id])
    expect(index.search('NEAR(salt pepper)').map((r) => r.id)).toEqual([id])
    expect(index.search('NEAR(salt cumin)')).toEqual([])
    expect(index.search('"salt AND (pepper)"').map((r) => r.id)).toEqual([id])
    expect(index.search('x-ray').map((r) => r.id)).toEqual([id])
    expect(index.search("'; DROP TABLE memory_fts; --")).toEqual([])
    expect(index.size()).toBe(1)
  })

  it('refuses a query with no words', () => {
    const index = open(createMemoryModel(new Y.Doc()))
    for (const query of ['', '   ', '*', '"" ()', '-:^']) {
      expect(() => index.search(query)).toThrow(expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'query' }))
    }
    expect(() => index.search('x'.repeat(20_001))).toThrow(expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'query' }))
  })

  it('stops following the model once closed, and leaves a given connection open', () => {
    const model = createMemoryModel(new Y.Doc())
    const db = new Database(':memory:')
    onTestFinished(() => {
      db.close()
    })
    const index = createMemoryIndex({ model, db })
    model.add({ text: 'before close', topic: 't', author }, 1)
    index.close()
    index.close()
    model.add({ text: 'after close', topic: 't', author }, 2)
    expect(db.open).toBe(true)
    expect((db.prepare('SELECT count(*) AS n FROM memory_fts').get() as { n: number }).n).toBe(1)
  })

  it('rebuilds 20,000 entries', () => {
    const doc = new Y.Doc()
    const model = createMemoryModel(doc, { id: counterIds('m') })
    doc.transact(() => {
      for (let i = 0; i < 20_000; i++) {
        model.add({ text: `entry ${i} about ${WORDS[i % WORDS.length]} and ${WORDS[(i * 7) % WORDS.length]}`, topic: `t${i % 50}`, author }, i)
      }
    })
    const index = open(model)
    expect(index.rebuild()).toBe(20_000)
    expect(index.size()).toBe(20_000)
    expect(index.search('garden', { limit: 100 })).toHaveLength(100)
  })
})
