/** The RosterStore contract, run against state.db on real disk in a temp dir and in memory. */
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { createSqliteRosterStore, openStateDb, type StateDb } from '../../crdt/index.js'
import { createMemoryRosterStore, type RosterStore } from '../../mesh/index.js'
import { tempDir } from '../support/temp-dir.js'
import { runRosterStoreContract } from './roster-store.contract.js'

const opened = new WeakMap<RosterStore, StateDb>()

function onDisk(path: string): RosterStore {
  const state = openStateDb(path, 0)
  onTestFinished(() => state.close())
  const store = createSqliteRosterStore(state)
  opened.set(store, state)
  return store
}

runRosterStoreContract('SQLite state.db on disk', {
  open: () => onDisk(join(tempDir(), 'state.db')),
  reopen(store) {
    const state = opened.get(store) as StateDb
    state.close()
    return onDisk(state.path)
  },
  share: (store) => onDisk((opened.get(store) as StateDb).path),
})

runRosterStoreContract('in memory', { open: () => createMemoryRosterStore() })
