/** The roster's store on a real state.db: the update log and the pinned genesis beside it. */
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createSqliteRosterStore, openStateDb, type StateDb } from '../../crdt/index.js'
import { createRoster, type Roster } from '../../mesh/roster.js'
import { keyOf, peerOf, seedOf } from '../support/fixed-keys.js'
import { tempDir } from '../support/temp-dir.js'

const AGENT = 1
const [A, B] = [10, 11] as const

function open(path: string): StateDb {
  const state = openStateDb(path, 1000)
  onTestFinished(() => state.close())
  return state
}

function rosterOn(state: StateDb): Roster {
  const roster = createRoster({ agentPublicKey: keyOf(AGENT), store: createSqliteRosterStore(state), self: keyOf(A) })
  onTestFinished(() => roster.destroy())
  return roster
}

describe('the sqlite roster store', () => {
  it('keeps the pinned genesis in node_meta across reopening state.db', () => {
    const path = join(tempDir(), 'state.db')
    const first = open(path)
    const founded = rosterOn(first)
    founded.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
    const pin = founded.genesis()
    expect(first.getMeta('roster.genesis')).toBe(pin)
    founded.destroy()
    first.close()
    const reopened = rosterOn(open(path))
    expect(reopened.genesis()).toBe(pin)
    expect(reopened.repairs.pinnedGenesis).toBeUndefined()
  })

  it('pins the genesis of a state.db laid out before pinning, and keeps the pin', () => {
    const path = join(tempDir(), 'state.db')
    // What the current code leaves on disk: roster_updates rows and no pin, written through
    // the store's two original methods only.
    const before = open(path)
    const sqlite = createSqliteRosterStore(before)
    const old = createRoster({ agentPublicKey: keyOf(AGENT), store: { load: () => sqlite.load(), append: (u) => sqlite.append(u) } })
    old.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
    old.add(seedOf(A), { publicKey: keyOf(B), name: 'bravo' }, 2000)
    const pin = old.genesis()
    old.destroy()
    expect(before.getMeta('roster.genesis')).toBeUndefined()
    before.close()

    const state = open(path)
    const roster = rosterOn(state)
    expect(roster.repairs.pinnedGenesis).toBe(pin)
    expect(roster.genesis()).toBe(pin)
    expect(state.getMeta('roster.genesis')).toBe(pin)
    expect(roster.members().map((m) => m.peerId)).toEqual([peerOf(A), peerOf(B)])
    roster.add(seedOf(B), { publicKey: keyOf(12), name: 'charlie' }, 3000)
    expect(roster.members()).toHaveLength(3)
  })

  it('treats a pin that is not an event id as none, and pins again from the events', () => {
    const path = join(tempDir(), 'state.db')
    const state = open(path)
    const founded = rosterOn(state)
    founded.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
    const pin = founded.genesis()
    founded.destroy()
    state.setMeta('roster.genesis', 'not an id')
    const again = rosterOn(state)
    expect(again.genesis()).toBe(pin)
    expect(state.getMeta('roster.genesis')).toBe(pin)
  })
})
