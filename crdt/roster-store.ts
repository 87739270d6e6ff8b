/**
 * The roster's update log in state.db: mesh's RosterStore port on SQLite. Each local change
 * of the roster document is one row, committed before `append` returns; `load` compacts the
 * log into one merged update once it grows past a threshold, in one transaction. The pinned
 * genesis id is the `roster.genesis` row of node_meta; a state.db made before pinning has
 * none, and the roster pins the genesis of its stored events on load.
 */
import * as Y from 'yjs'
import { isGenesisId, type RosterStore } from '../mesh/index.js'
import type { StateDb } from './state-db.js'

const GENESIS_KEY = 'roster.genesis'

export function createSqliteRosterStore(state: StateDb, options: { compactAfter?: number } = {}): RosterStore {
  const compactAfter = options.compactAfter ?? 256
  const selectAll = state.db.prepare('SELECT seq, data FROM roster_updates ORDER BY seq')
  const insert = state.db.prepare('INSERT INTO roster_updates (data) VALUES (?)')
  const clear = state.db.prepare('DELETE FROM roster_updates')
  const compact = state.db.transaction((merged: Uint8Array) => {
    clear.run()
    insert.run(Buffer.from(merged))
  })
  return {
    load() {
      const rows = selectAll.all() as Array<{ seq: number; data: Buffer }>
      const updates = rows.map((r) => new Uint8Array(r.data))
      if (updates.length > compactAfter) {
        const merged = Y.mergeUpdates(updates)
        compact(merged)
        return [merged]
      }
      return updates
    },
    append(update) {
      insert.run(Buffer.from(update))
    },
    loadGenesis() {
      const id = state.getMeta(GENESIS_KEY)
      return isGenesisId(id) ? id : undefined
    },
    saveGenesis(genesisId) {
      state.setMeta(GENESIS_KEY, genesisId)
    },
  }
}
