/**
 * crdt: the agent's shared state. For now, the node's state database (better-sqlite3 in
 * WAL mode, with a migrations table); the Yjs documents, sealed update log and sync
 * protocol grow on top of it.
 *
 *   const state = openStateDb(join(home, 'state.db'), clock.now())
 *   state.setMeta('machine', 'laptop')
 *   state.close()
 */
export { openStateDb } from './state-db.js'
export type { AppliedMigration, StateDb, StateDbOptions } from './state-db.js'
export type { Migration } from './migrations.js'
export { CrdtError, StateDbOpenError, StateDbTooNewError } from './errors.js'
