/** Agent state (sealed documents in a real SQLite file, sync over the mesh) for a test node. */
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { createAgentState, createSqliteDocumentStorage, openStateDb, type AgentState, type StateDb } from '../../crdt/index.js'
import { createSystemClock, silentLogger } from '../../runtime/index.js'
import type { TestNode } from './mesh-nodes.js'
import { tempDir } from './temp-dir.js'

export interface StatefulNode {
  node: TestNode
  db: StateDb
  state: AgentState
  dbPath: string
}

export async function withState(node: TestNode, dbPath = join(tempDir(), 'state.db')): Promise<StatefulNode> {
  const db = openStateDb(dbPath, 0)
  const state = createAgentState({ mesh: node.mesh, storage: createSqliteDocumentStorage(db), clock: createSystemClock(), logger: silentLogger })
  let stopped = false
  onTestFinished(() => {
    if (stopped) return
    stopped = true
    state.stop()
    db.close()
  })
  await state.start()
  return { node, db, state, dbPath }
}
