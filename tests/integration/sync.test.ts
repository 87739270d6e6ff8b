/** Sealed Yjs documents synced between real loopback nodes, stored in real SQLite files. */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { DOC_NAMES, createSqliteDocumentStorage } from '../../crdt/index.js'
import { withState, type StatefulNode } from '../support/agent-state.js'
import { connectedTo, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

async function pair(inviter: TestNode, joiner: TestNode): Promise<void> {
  await joiner.mesh.join(inviter.mesh.invite(15 * 60_000).token)
}

async function threeStateful(): Promise<[StatefulNode, StatefulNode, StatefulNode]> {
  const a = await startTestNode({ name: 'a', founder: true })
  const b = await startTestNode({ name: 'b' })
  const c = await startTestNode({ name: 'c' })
  await pair(a, b)
  await pair(b, c)
  await waitFor(() => connectedTo(a, c) && connectedTo(b, c) && connectedTo(a, b), { timeoutMs: 15_000, what: 'full mesh' })
  return [await withState(a), await withState(b), await withState(c)]
}

const same = (x: StatefulNode, y: StatefulNode): boolean =>
  DOC_NAMES.every((d) => Buffer.from(Y.encodeStateVector(x.state.documents.doc(d))).equals(Buffer.from(Y.encodeStateVector(y.state.documents.doc(d)))))

describe('document sync', () => {
  it('converges writes made on every node, contents and state vectors alike', async () => {
    const [a, b, c] = await threeStateful()
    a.state.memory.add({ text: 'from a', topic: 't', author: a.node.mesh.peerId }, 1)
    b.state.memory.add({ text: 'from b', topic: 't', author: b.node.mesh.peerId }, 2)
    c.state.relationships.addPerson({ displayName: 'Ada', identities: [{ platform: 'telegram', value: '42' }] }, 3)
    await waitFor(() => [a, b, c].every((n) => n.state.memory.size() === 2 && n.state.relationships.list().length === 1), { timeoutMs: 15_000, what: 'convergence' })
    await waitFor(() => same(a, b) && same(b, c), { timeoutMs: 15_000, what: 'equal state vectors' })
    const texts = (n: StatefulNode) => n.state.memory.all().map((e) => e.text).sort()
    expect(texts(a)).toEqual(['from a', 'from b'])
    expect(texts(c)).toEqual(texts(a))
    expect(a.state.relationships.resolve({ platform: 'telegram', value: '42' })?.displayName).toBe('Ada')
  })

  it('converges concurrent edits of the same entry to one value everywhere', async () => {
    const [a, b, c] = await threeStateful()
    const id = a.state.memory.add({ text: 'v0', topic: 't', author: a.node.mesh.peerId }, 1)
    await waitFor(() => b.state.memory.get(id) !== undefined && c.state.memory.get(id) !== undefined, { timeoutMs: 15_000, what: 'entry everywhere' })
    a.state.memory.update(id, { text: 'edit a' }, 2)
    b.state.memory.update(id, { text: 'edit b' }, 2)
    c.state.memory.update(id, { tags: ['c'] }, 2)
    await waitFor(() => same(a, b) && same(b, c), { timeoutMs: 15_000, what: 'equal state vectors' })
    const seen = [a, b, c].map((n) => JSON.stringify(n.state.memory.get(id)))
    expect(new Set(seen).size).toBe(1)
    expect(a.state.memory.get(id)?.tags).toEqual(['c'])
  })

  it('catches up a node that was offline during 1,000 writes', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    await pair(a, b)
    await waitFor(() => connectedTo(a, b), { timeoutMs: 15_000, what: 'a-b' })
    const sa = await withState(a)
    let sb = await withState(b)
    sb.state.stop()
    sb.db.close()
    const b2 = await b.restart()
    // b2 runs its mesh but its state is closed: stop its mesh too, to be truly offline.
    await b2.mesh.stop()
    for (let i = 0; i < 1000; i++) sa.state.memory.add({ text: `entry ${i}`, topic: 'bulk', author: a.mesh.peerId }, i)
    const b3 = await b2.restart()
    sb = await withState(b3, sb.dbPath)
    await waitFor(() => sb.state.memory.size() === 1000, { timeoutMs: 30_000, what: 'b to catch up' })
    expect(sb.state.memoryIndex.search('entry 999', { limit: 1 })[0]?.text).toBe('entry 999')
  })
})

describe('document storage', () => {
  it('compacts the log while running and reloads the same content from the snapshot', async () => {
    const { join } = await import('node:path')
    const { createAgentState, openStateDb } = await import('../../crdt/index.js')
    const { createSystemClock, silentLogger } = await import('../../runtime/index.js')
    const { tempDir } = await import('../support/temp-dir.js')
    const a = await startTestNode({ name: 'a', founder: true })
    const path = join(tempDir(), 'state.db')
    const db = openStateDb(path, 0)
    const state = createAgentState({ mesh: a.mesh, storage: createSqliteDocumentStorage(db), clock: createSystemClock(), logger: silentLogger }, { compactAfter: 50 })
    await state.start()
    // Each write acknowledged before the next, so each is a group commit and a row of its own.
    for (let i = 0; i < 120; i++) {
      state.memory.add({ text: `note ${i}`, topic: 't', author: a.mesh.peerId }, i)
      await state.documents.committed()
    }
    const rows = (db.db.prepare("SELECT COUNT(*) AS n FROM doc_updates WHERE doc = 'memory'").get() as { n: number }).n
    expect(rows).toBeLessThan(50)
    expect((db.db.prepare("SELECT COUNT(*) AS n FROM doc_snapshots WHERE doc = 'memory'").get() as { n: number }).n).toBe(1)
    state.stop()
    db.close()
    const db2 = openStateDb(path, 0)
    const again = createAgentState({ mesh: a.mesh, storage: createSqliteDocumentStorage(db2), clock: createSystemClock(), logger: silentLogger })
    await again.start()
    expect(again.memory.size()).toBe(120)
    expect(again.memoryIndex.search('note 77', { limit: 1 })[0]?.text).toBe('note 77')
    again.stop()
    db2.close()
  })
})
