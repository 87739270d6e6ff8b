/** The TermStore contract, run against state.db on real disk in a temp dir and in memory. */
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { createSqliteTermStore, openStateDb, type StateDb } from '../../crdt/index.js'
import { createMemoryTermStore, type TermState } from '../../mesh/index.js'
import { tempDir } from '../support/temp-dir.js'
import { runTermStoreContract, type RepairingTermStore } from './term-store.contract.js'

const opened = new WeakMap<RepairingTermStore, StateDb>()

function openState(path: string): StateDb {
  const state = openStateDb(path, 0)
  onTestFinished(() => state.close())
  return state
}

function onDisk(state: StateDb): RepairingTermStore {
  const store = createSqliteTermStore(state)
  opened.set(store, state)
  return store
}

runTermStoreContract('SQLite state.db on disk', {
  open: () => onDisk(openState(join(tempDir(), 'state.db'))),
  openHolding(term, votedFor) {
    // What the node_meta rows hold as text, written before the store is made.
    const state = openState(join(tempDir(), 'state.db'))
    state.setMeta('election.term', term)
    state.setMeta('election.votedFor', votedFor ?? '')
    return onDisk(state)
  },
  reopen(store) {
    const state = opened.get(store) as StateDb
    state.close()
    return onDisk(openState(state.path))
  },
  share: (store) => onDisk(openState((opened.get(store) as StateDb).path)),
})

runTermStoreContract('in memory', {
  open: () => createMemoryTermStore(),
  // The memory store checks its initial state as a stored one (text included).
  openHolding: (term, votedFor) => createMemoryTermStore({ term: term as unknown as TermState['term'], votedFor }),
})
