/**
 * The contract of mesh's RosterStore port, run against every implementation: the roster's
 * update log (in order, or compacted into fewer updates that build the same document) and the
 * pinned genesis beside it. `reopen` and `share` as in document-storage.contract.ts.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import * as Y from 'yjs'
import type { RosterStore } from '../../mesh/index.js'
import { createRoster, type Roster } from '../../mesh/roster.js'
import { keyOf, peerOf, seedOf } from '../support/fixed-keys.js'

export interface RosterStoreSubject {
  /** A new, empty store, released when the test ends. */
  open(): RosterStore
  /** Closes `store` and opens what it stored again; only a store that outlives its process has it. */
  reopen?(store: RosterStore): RosterStore
  /** A second handle on what `store` stores, as another connection. */
  share?(store: RosterStore): RosterStore
}

const AGENT = 1
const [A, B] = [10, 11] as const
const PIN = 'ab'.repeat(32)

/** `count` single-entry updates of one document, and the document they make. */
function updates(count: number): { list: Uint8Array[]; json: unknown } {
  const doc = new Y.Doc()
  const list: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => list.push(u))
  for (let i = 0; i < count; i++) doc.getMap('m').set(`k${i}`, i)
  const json = doc.getMap('m').toJSON()
  doc.destroy()
  return { list, json }
}

function rebuilt(list: Uint8Array[]): unknown {
  const doc = new Y.Doc()
  for (const u of list) Y.applyUpdate(doc, u)
  const json = doc.getMap('m').toJSON()
  doc.destroy()
  return json
}

function rosterOn(store: RosterStore): Roster {
  const roster = createRoster({ agentPublicKey: keyOf(AGENT), store, self: keyOf(A) })
  onTestFinished(() => roster.destroy())
  return roster
}

export function runRosterStoreContract(name: string, subject: RosterStoreSubject): void {
  describe(`RosterStore contract: ${name}`, () => {
    it('loads an empty store as no updates and no pin', () => {
      const store = subject.open()
      expect(store.load()).toEqual([])
      expect(store.loadGenesis?.()).toBeUndefined()
    })

    it('loads appended updates byte for byte, in the order they were appended', () => {
      const store = subject.open()
      const { list } = updates(5)
      for (const u of list) store.append(u)
      expect(store.load().map((u) => [...u])).toEqual(list.map((u) => [...u]))
    })

    it('loads updates that build the same document however many were appended, and again after more', () => {
      const store = subject.open()
      // Past 256, the SQLite store's threshold for merging its log at load.
      const { list, json } = updates(300)
      for (const u of list.slice(0, 270)) store.append(u)
      expect(rebuilt(store.load())).toEqual(rebuilt(list.slice(0, 270)))
      for (const u of list.slice(270)) store.append(u)
      expect(rebuilt(store.load())).toEqual(json)
      expect(rebuilt(store.load())).toEqual(json)
    })

    it('keeps what it stored when the caller later changes the buffer it appended or loaded', () => {
      const store = subject.open()
      const u = Uint8Array.from([1, 2, 3])
      store.append(u)
      u[0] = 9
      ;(store.load()[0] as Uint8Array)[1] = 9
      expect(store.load().map((x) => [...x])).toEqual([[1, 2, 3]])
    })

    it('overwrites the pin with the one saved last', () => {
      const store = subject.open()
      store.saveGenesis?.(PIN)
      store.saveGenesis?.('cd'.repeat(32))
      expect(store.loadGenesis?.()).toBe('cd'.repeat(32))
    })

    it('loads a pin that is not a 64-hex event id as no pin', () => {
      const store = subject.open()
      if (store.saveGenesis === undefined) return
      store.saveGenesis('not an id')
      expect(store.loadGenesis?.()).toBeUndefined()
      store.saveGenesis('AB'.repeat(32))
      expect(store.loadGenesis?.()).toBeUndefined()
    })

    it('gives a second roster on it the members and the genesis the first one wrote', () => {
      const store = subject.open()
      const first = rosterOn(store)
      first.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
      first.add(seedOf(A), { publicKey: keyOf(B), name: 'bravo' }, 2000)
      const pin = first.genesis()
      first.destroy()
      const second = rosterOn(store)
      expect(second.genesis()).toBe(pin)
      expect(second.repairs.pinnedGenesis).toBeUndefined()
      expect(second.members().map((m) => m.peerId)).toEqual([peerOf(A), peerOf(B)])
    })

    it('holds a malformed update as it was given, which a roster refuses with ROSTER_EVENT_INVALID', () => {
      const store = subject.open()
      store.append(Uint8Array.from([0xff, 0xff, 0xff]))
      expect(() => createRoster({ agentPublicKey: keyOf(AGENT), store })).toThrow(expect.objectContaining({ code: 'ROSTER_EVENT_INVALID' }))
    })

    if (subject.reopen !== undefined) {
      const reopen = subject.reopen.bind(subject)
      it('keeps every update and the pin across a reopen', () => {
        const store = subject.open()
        const { list, json } = updates(3)
        for (const u of list) store.append(u)
        store.saveGenesis?.(PIN)
        const again = reopen(store)
        expect(rebuilt(again.load())).toEqual(json)
        expect(again.loadGenesis?.()).toBe(PIN)
      })
    }

    if (subject.share !== undefined) {
      const share = subject.share.bind(subject)
      it('keeps the updates of interleaved writers through two handles, in the order they were written', () => {
        const store = subject.open()
        const other = share(store)
        const { list } = updates(10)
        list.forEach((u, i) => (i % 2 === 0 ? store : other).append(u))
        expect(other.load().map((u) => [...u])).toEqual(list.map((u) => [...u]))
        expect(store.load().map((u) => [...u])).toEqual(list.map((u) => [...u]))
      })
    }
  })
}
