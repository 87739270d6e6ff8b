/**
 * The state routes on a real API server and a real agent state (SQLite file, loopback mesh):
 * while the agent state loads, the rest of the API answers and a state request waits for the
 * load; a write is answered once it is committed.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createAgentState, createSqliteDocumentStorage, openStateDb, type AgentState } from '../../crdt/index.js'
import { createApiServer, type NodeStatus } from '../../node/api-server.js'
import { registerStateRoutes } from '../../node/api-state-routes.js'
import { createLogger } from '../../node/logger.js'
import { createSystemClock, silentLogger } from '../../runtime/index.js'
import { startTestNode } from '../support/mesh-nodes.js'
import { tempDir } from '../support/temp-dir.js'

const token = 'c'.repeat(64)
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

describe('state routes', () => {
  it('answers /health while the agent state loads, and a memory write once the state is loaded and the write committed', async () => {
    const node = await startTestNode({ name: 'a', founder: true })
    const path = join(tempDir(), 'state.db')
    const db = openStateDb(path, 0)
    const state = createAgentState({ mesh: node.mesh, storage: createSqliteDocumentStorage(db), clock: createSystemClock(), logger: silentLogger })
    onTestFinished(() => {
      state.stop()
      db.close()
    })
    // The load, held back until the test lets it run (as a large state.db would hold it).
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const loaded: Promise<AgentState> = gate.then(() => state.start()).then(() => state)
    const api = createApiServer(
      {
        token,
        logger: createLogger('silent'),
        status: () => ({ running: true }) as unknown as NodeStatus,
        requestStop: () => undefined,
        routes: [(fastify) => registerStateRoutes(fastify, { state: () => loaded, selfPeerId: () => node.mesh.peerId, now: () => 1_000 })],
      },
      { port: 0, version: '0.0.0' },
    )
    onTestFinished(() => api.stop())
    await api.start()

    let answered = false
    const write = fetch(`${api.url()}/memory`, { method: 'POST', headers: auth, body: JSON.stringify({ text: 'written while loading', topic: 't' }) }).then(async (r) => {
      answered = true
      return { status: r.status, body: (await r.json()) as { id: string } }
    })
    expect((await fetch(`${api.url()}/health`)).status).toBe(200)
    expect(answered).toBe(false)

    release()
    const { status, body } = await write
    expect(status).toBe(200)
    // Another connection sees the committed row as soon as the answer is in.
    const reader = new Database(path, { readonly: true })
    onTestFinished(() => void reader.close())
    expect(reader.prepare("SELECT COUNT(*) AS n FROM doc_updates WHERE doc = 'memory'").get()).toEqual({ n: 1 })
    expect(state.memory.get(body.id)?.text).toBe('written while loading')
  })
})
