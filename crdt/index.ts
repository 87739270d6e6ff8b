/**
 * crdt: the agent's shared state. For now, the node's state database (better-sqlite3 in
 * WAL mode, with a migrations table) and the roster's update log; the Yjs documents, the
 * sealed update log and the sync protocol grow on top of it.
 *
 *   const state = openStateDb(join(home, 'state.db'), clock.now())
 *   state.setMeta('machine', 'laptop')
 *   state.close()
 */
export { openStateDb } from './state-db.js'
export type { AppliedMigration, StateDb, StateDbOptions } from './state-db.js'
export type { Migration } from './migrations.js'
export { CrdtError, StateDbOpenError, StateDbTooNewError } from './errors.js'
export { createSqliteRosterStore } from './roster-store.js'
