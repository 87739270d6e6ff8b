/**
 * The contract of the DocumentStorage port (crdt/document-storage.ts), run against every
 * adapter, as automerge-repo's runStorageAdapterTests: call runDocumentStorageContract with a
 * subject that opens a fresh storage, and, where the adapter has them, reopens what it stored
 * (one that outlives the process) and shares it with a second handle (another connection).
 * The last block runs the document store on top, so every adapter also holds sealed documents.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createDocumentStore, type DocumentStorage, type DocumentStore, type StoredItem } from '../../crdt/index.js'
import { generateMeshKey, type MeshKey } from '../../identity/index.js'

export interface DocumentStorageSubject {
  /** A new, empty storage, released when the test ends. */
  open(): DocumentStorage
  /** Closes `storage` and opens what it stored again; only an adapter that outlives its process has it. */
  reopen?(storage: DocumentStorage): DocumentStorage
  /** A second handle on what `storage` stores, as another connection; only an adapter several may write has it. */
  share?(storage: DocumentStorage): DocumentStorage
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)
const row = (doc: string, sealed: Uint8Array, updates = 1) => ({ doc, sealed, updates })
const asArrays = (list: Array<{ sealed: Uint8Array }>): number[][] => list.map((r) => [...r.sealed])

function codeOf(fn: () => unknown): { code: string; field?: string } {
  try {
    fn()
  } catch (err) {
    return { code: (err as { code: string }).code, field: (err as { field?: string }).field }
  }
  throw new Error('expected a refusal')
}

export function runDocumentStorageContract(name: string, subject: DocumentStorageSubject): void {
  describe(`DocumentStorage contract: ${name}`, () => {
    it('reads an empty storage as no snapshot, no rows, nothing pending and seq 0', () => {
      const s = subject.open()
      expect(s.snapshot('memory')).toBeUndefined()
      expect(s.rows('memory', 0, 10)).toEqual([])
      expect(s.read('memory')).toEqual({ snapshot: undefined, rows: [] })
      expect(s.pendingUpdates('memory')).toBe(0)
      expect(s.lastSeq('memory')).toBe(0)
      expect(['power-loss', 'process-crash', 'none']).toContain(s.durability)
    })

    it('gives back the bytes and counts of every appended row, per document', () => {
      const s = subject.open()
      const [a, b, c] = s.append([row('memory', bytes(1, 2)), row('jobs', bytes(3), 2), row('memory', bytes(4, 5, 6), 3)])
      expect(s.rows('memory', 0, 10)).toEqual([
        { seq: a, doc: 'memory', sealed: expect.anything(), updates: 1 },
        { seq: c, doc: 'memory', sealed: expect.anything(), updates: 3 },
      ])
      expect(asArrays(s.rows('memory', 0, 10))).toEqual([[1, 2], [4, 5, 6]])
      expect(asArrays(s.rows('jobs', 0, 10))).toEqual([[3]])
      expect(s.rows('jobs', 0, 10)[0]?.seq).toBe(b)
      expect(s.pendingUpdates('memory')).toBe(4)
      expect(s.lastSeq('memory')).toBe(c)
      expect(s.lastSeq('jobs')).toBe(b)
    })

    it('numbers rows with one rising sequence across documents and reads them in seq order, in pages', () => {
      const s = subject.open()
      const seqs: number[] = []
      for (let i = 0; i < 6; i++) seqs.push(...s.append([row(i % 2 === 0 ? 'memory' : 'jobs', bytes(i))]))
      for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThan(seqs[i - 1] as number)
      const memory = s.rows('memory', 0, 10)
      expect(memory.map((r) => r.seq)).toEqual([seqs[0], seqs[2], seqs[4]])
      expect(s.rows('memory', 0, 2).map((r) => r.seq)).toEqual([seqs[0], seqs[2]])
      expect(s.rows('memory', seqs[2] as number, 2).map((r) => r.seq)).toEqual([seqs[4]])
      expect(s.rows('memory', seqs[4] as number, 2)).toEqual([])
    })

    it('stores all rows of an append or none, refusing bad bytes or counts with CRDT_INPUT_INVALID', () => {
      const s = subject.open()
      s.append([row('memory', bytes(1))])
      expect(codeOf(() => s.append([row('memory', bytes(2)), row('memory', bytes(3), 0)]))).toMatchObject({ code: 'CRDT_INPUT_INVALID' })
      expect(codeOf(() => s.append([row('memory', bytes(2)), row('memory', bytes(3), 1.5)]))).toMatchObject({ code: 'CRDT_INPUT_INVALID' })
      expect(codeOf(() => s.append([row('memory', bytes(2)), { doc: 'memory', sealed: 'text' as unknown as Uint8Array, updates: 1 }]))).toMatchObject({ code: 'CRDT_INPUT_INVALID' })
      expect(asArrays(s.rows('memory', 0, 10))).toEqual([[1]])
      expect(s.append([])).toEqual([])
    })

    it('keeps what it stored when the caller later changes the buffers it handed over or got back', () => {
      const s = subject.open()
      const sealed = bytes(7, 7, 7)
      s.append([row('memory', sealed)])
      sealed[0] = 0
      const got = s.rows('memory', 0, 1)[0]?.sealed as Uint8Array
      got[1] = 0
      expect(asArrays(s.rows('memory', 0, 1))).toEqual([[7, 7, 7]])
    })

    it('replaces the rows a snapshot covers with the snapshot, keeping later rows and the last seq', () => {
      const s = subject.open()
      const [first, second, third] = s.append([row('memory', bytes(1)), row('memory', bytes(2), 2), row('memory', bytes(3))])
      const other = s.append([row('jobs', bytes(9))])[0] as number
      s.replaceWithSnapshot('memory', { sealed: bytes(1, 2, 2), pieces: 3 }, second as number)
      expect(s.snapshot('memory')).toEqual({ doc: 'memory', sealed: expect.anything(), uptoSeq: second, pieces: 3 })
      expect([...(s.snapshot('memory')?.sealed ?? [])]).toEqual([1, 2, 2])
      expect(s.rows('memory', 0, 10).map((r) => r.seq)).toEqual([third])
      expect(s.read('memory').rows.map((r) => r.seq)).toEqual([third])
      expect(s.pendingUpdates('memory')).toBe(1)
      expect(s.lastSeq('memory')).toBe(third)
      expect(s.rows('jobs', 0, 10).map((r) => r.seq)).toEqual([other])
      expect(first).toBeLessThan(second as number)
    })

    it('overwrites an earlier snapshot, and never moves its mark back', () => {
      const s = subject.open()
      const [a, b] = s.append([row('memory', bytes(1)), row('memory', bytes(2))])
      s.replaceWithSnapshot('memory', { sealed: bytes(10), pieces: 1 }, b as number)
      s.replaceWithSnapshot('memory', { sealed: bytes(11), pieces: 2 }, a as number)
      expect(s.snapshot('memory')).toMatchObject({ uptoSeq: b, pieces: 2 })
      expect([...(s.snapshot('memory')?.sealed ?? [])]).toEqual([11])
      expect(s.lastSeq('memory')).toBe(b)
      expect(s.pendingUpdates('memory')).toBe(0)
    })

    it('refuses a snapshot past the last seq, or with bad bytes or count, and changes nothing', () => {
      const s = subject.open()
      const [a] = s.append([row('memory', bytes(1))])
      expect(codeOf(() => s.replaceWithSnapshot('memory', { sealed: bytes(5), pieces: 1 }, (a as number) + 1))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'uptoSeq' })
      expect(codeOf(() => s.replaceWithSnapshot('jobs', { sealed: bytes(5), pieces: 1 }, 1))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'uptoSeq' })
      expect(codeOf(() => s.replaceWithSnapshot('memory', { sealed: bytes(5), pieces: 0 }, a as number))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'snapshot' })
      expect(s.snapshot('memory')).toBeUndefined()
      expect(s.snapshot('jobs')).toBeUndefined()
      expect(asArrays(s.rows('memory', 0, 10))).toEqual([[1]])
    })

    it('never reuses a seq, not even that of a row a snapshot deleted', () => {
      const s = subject.open()
      const [a] = s.append([row('memory', bytes(1))])
      s.replaceWithSnapshot('memory', { sealed: bytes(1), pieces: 1 }, a as number)
      const [b] = s.append([row('jobs', bytes(2))])
      expect(b).toBeGreaterThan(a as number)
    })

    it('rewrites rows in seq order and then snapshots, storing what the function returns', () => {
      const s = subject.open()
      const [a, b] = s.append([row('memory', bytes(1)), row('jobs', bytes(2), 2)])
      s.replaceWithSnapshot('memory', { sealed: bytes(3), pieces: 4 }, a as number)
      const seen: StoredItem[] = []
      const count = s.rewrite((item) => {
        seen.push({ ...item, sealed: item.sealed.slice() })
        return item.kind === 'row' && item.doc === 'memory' ? undefined : Uint8Array.from([...item.sealed, 0])
      })
      expect(seen.map((i) => (i.kind === 'row' ? ['row', i.seq, i.doc, i.count] : ['snapshot', i.doc, i.count]))).toEqual([
        ['row', b, 'jobs', 2],
        ['snapshot', 'memory', 4],
      ])
      expect(count).toBe(2)
      expect(asArrays(s.rows('jobs', 0, 10))).toEqual([[2, 0]])
      expect([...(s.snapshot('memory')?.sealed ?? [])]).toEqual([3, 0])
    })

    it('changes nothing when the rewrite function throws, and passes its error on', () => {
      const s = subject.open()
      s.append([row('memory', bytes(1)), row('memory', bytes(2))])
      let calls = 0
      const boom = new Error('boom')
      expect(() =>
        s.rewrite(() => {
          if (++calls === 2) throw boom
          return bytes(99)
        }),
      ).toThrow(boom)
      expect(asArrays(s.rows('memory', 0, 10))).toEqual([[1], [2]])
    })

    if (subject.reopen !== undefined) {
      const reopen = subject.reopen.bind(subject)
      it('keeps every committed row and snapshot across a reopen, and goes on numbering above them', () => {
        const s = subject.open()
        const [a, b] = s.append([row('memory', bytes(1)), row('memory', bytes(2))])
        s.replaceWithSnapshot('memory', { sealed: bytes(12), pieces: 2 }, a as number)
        const [c] = s.append([row('jobs', bytes(3), 5)])
        s.replaceWithSnapshot('jobs', { sealed: bytes(30), pieces: 5 }, c as number)
        const again = reopen(s)
        expect(asArrays(again.rows('memory', 0, 10))).toEqual([[2]])
        expect(again.snapshot('memory')).toMatchObject({ uptoSeq: a, pieces: 2 })
        expect(again.pendingUpdates('jobs')).toBe(0)
        expect(again.lastSeq('jobs')).toBe(c)
        const [d] = again.append([row('memory', bytes(4))])
        expect(d).toBeGreaterThan(Math.max(b as number, c as number))
      })
    }

    if (subject.share !== undefined) {
      const share = subject.share.bind(subject)
      it('gives interleaved writers through two handles distinct rising seqs, each seeing the other', () => {
        const s = subject.open()
        const t = share(s)
        const seqs: number[] = []
        for (let i = 0; i < 10; i++) seqs.push(...(i % 2 === 0 ? s : t).append([row('memory', bytes(i)), row('jobs', bytes(i))]))
        expect(new Set(seqs).size).toBe(seqs.length)
        for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThan(seqs[i - 1] as number)
        expect(asArrays(t.rows('memory', 0, 100))).toEqual(asArrays(s.rows('memory', 0, 100)))
        expect(s.rows('memory', 0, 100).map((r) => r.sealed[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      })
    }

    describe('with the document store on it', () => {
      const MESH = 'mesh-contract'
      const storeOn = (storage: DocumentStorage, ring: { current: MeshKey; held: MeshKey[] }): DocumentStore =>
        createDocumentStore({ storage, meshId: MESH, currentKey: () => ring.current, keyFor: (e) => ring.held.find((k) => k.epoch === e) })
      const text = (updates: Uint8Array[]): string => {
        const doc = new Y.Doc()
        for (const u of updates) Y.applyUpdate(doc, u)
        return doc.getText('t').toString()
      }
      const edits = (...words: string[]): Uint8Array[] => {
        const doc = new Y.Doc()
        const out: Uint8Array[] = []
        doc.on('update', (u: Uint8Array) => out.push(u))
        for (const w of words) doc.getText('t').insert(doc.getText('t').length, w)
        return out
      }

      it('loads what was appended one by one and by group commit, and what compaction kept', () => {
        const key = generateMeshKey(1)
        const store = storeOn(subject.open(), { current: key, held: [key] })
        const [u1, u2, u3, u4] = edits('a', 'b', 'c', 'd')
        const first = store.append('memory', u1 as Uint8Array)
        store.appendMany([
          { doc: 'memory', update: u2 as Uint8Array },
          { doc: 'memory', update: u3 as Uint8Array },
        ])
        expect(text(store.load('memory').updates)).toBe('abc')
        store.compact('memory', store.load('memory').updates, store.lastSeq('memory'))
        store.append('memory', u4 as Uint8Array)
        expect(store.load('memory')).toMatchObject({ refused: [] })
        expect(text(store.load('memory').updates)).toBe('abcd')
        expect(store.pending('memory')).toBe(1)
        expect(first).toBeGreaterThan(0)
      })

      it('refuses a row or snapshot whose stored bytes were damaged with SYNC_UPDATE_REJECTED, and loads the rest', () => {
        const key = generateMeshKey(1)
        const storage = subject.open()
        const store = storeOn(storage, { current: key, held: [key] })
        const [u1, u2, u3] = edits('x', 'y', 'z')
        store.append('jobs', u1 as Uint8Array)
        store.compact('jobs', [u1 as Uint8Array], store.lastSeq('jobs'))
        const bad = store.append('memory', u2 as Uint8Array)
        store.append('memory', u3 as Uint8Array)
        storage.rewrite((item) => {
          if (item.kind === 'row' && item.seq !== bad) return undefined
          const damaged = item.sealed.slice()
          damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0xff
          return damaged
        })
        const memory = store.load('memory')
        expect(memory.refused).toEqual([{ seq: bad, code: 'SYNC_UPDATE_REJECTED', reason: 'auth-failed' }])
        expect(memory.updates).toHaveLength(1)
        expect(store.load('jobs').refused).toMatchObject([{ code: 'SYNC_UPDATE_REJECTED' }])
      })

      it('re-seals under a new key what the old one sealed, so the old key alone opens nothing', () => {
        const old = generateMeshKey(1)
        const next = generateMeshKey(2)
        const storage = subject.open()
        const ring = { current: old, held: [old] }
        const store = storeOn(storage, ring)
        const [u1, u2] = edits('p', 'q')
        store.append('memory', u1 as Uint8Array)
        store.compact('memory', [u1 as Uint8Array], store.lastSeq('memory'))
        store.append('memory', u2 as Uint8Array)
        ring.current = next
        ring.held = [old, next]
        expect(store.reseal()).toBe(2)
        expect(text(storeOn(storage, { current: next, held: [next] }).load('memory').updates)).toBe('pq')
        expect(storeOn(storage, { current: old, held: [old] }).load('memory').refused).toHaveLength(2)
      })
    })
  })
}
