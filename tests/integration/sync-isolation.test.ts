/**
 * A sync failure on one document never stops the others: real loopback nodes, one of whose
 * documents refuses (or fails to apply) what the other sends for one document.
 */
import { describe, expect, it } from 'vitest'
import { SyncUpdateRejectedError } from '../../crdt/index.js'
import { createRelationshipsModel } from '../../crdt/relationships-model.js'
import { withState } from '../support/agent-state.js'
import { connectedTo, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { withSyncEngine } from '../support/sync-node.js'
import { waitFor } from '../support/wait-for.js'

async function pairedPair(): Promise<[TestNode, TestNode]> {
  const a = await startTestNode({ name: 'a', founder: true })
  const b = await startTestNode({ name: 'b' })
  await b.mesh.join(a.mesh.invite(60_000).token)
  await waitFor(() => connectedTo(a, b), { timeoutMs: 15_000, what: 'a-b' })
  return [a, b]
}

describe('one document failing', () => {
  it('leaves the other documents syncing on the same stream when one document refuses every update', async () => {
    const [a, b] = await pairedPair()
    const sa = await withState(a)
    const sb = await withSyncEngine(b, {
      applyRemote: (real, doc, update, peerId) => {
        // As the documents' schema check refuses what breaks a model's shape.
        if (doc === 'relationships') throw new SyncUpdateRejectedError('malformed', 'not a map of records')
        return real(doc, update, peerId)
      },
    })
    sa.state.relationships.addPerson({ displayName: 'Ada' }, 1)
    const first = sa.state.memory.add({ text: 'first', topic: 't', author: a.mesh.peerId }, 1)
    await waitFor(() => sb.memory.get(first) !== undefined, { timeoutMs: 15_000, what: 'memory on b' })
    sa.state.relationships.addPerson({ displayName: 'Grace' }, 2)
    const second = sa.state.memory.add({ text: 'second', topic: 't', author: a.mesh.peerId }, 2)
    await waitFor(() => sb.memory.get(second) !== undefined, { timeoutMs: 15_000, what: 'the second memory write on b' })
    expect(createRelationshipsModel(sb.documents.doc('relationships')).list()).toEqual([])

    const atB = sb.sync.status()[a.mesh.peerId]
    expect(atB?.state).toBe('failing')
    expect(atB?.docs.relationships.failure?.code).toBe('SYNC_UPDATE_REJECTED')
    expect(atB?.docs.memory.failure).toBeNull()
    expect(atB?.resets).toBe(0)
    expect(atB?.refused.SYNC_UPDATE_REJECTED).toBeGreaterThanOrEqual(2)
    // a hears why (a REFUSED frame), and shows it.
    await waitFor(() => sa.state.sync.status()[b.mesh.peerId]?.docs.relationships.failure?.code === 'SYNC_REFUSED_BY_PEER', { timeoutMs: 15_000, what: 'a to show b refusing relationships' })
    expect(sa.state.sync.status()[b.mesh.peerId]?.reason).toContain('relationships')
    await waitFor(() => sa.state.sync.status()[b.mesh.peerId]?.docs.memory.inSync, { timeoutMs: 15_000, what: 'a to show memory in sync with b' })
  })

  it('leaves the other documents syncing when applying one document fails on this machine, and does not hold it against the peer', async () => {
    const [a, b] = await pairedPair()
    const sa = await withState(a)
    const sb = await withSyncEngine(b, {
      sync: { backoff: { refusalLimit: 2 } },
      applyRemote: (real, doc, update, peerId) => {
        if (doc === 'memory') throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })
        return real(doc, update, peerId)
      },
    })
    for (let i = 0; i < 5; i++) sa.state.memory.add({ text: `lost ${i}`, topic: 't', author: a.mesh.peerId }, i)
    const ada = sa.state.relationships.addPerson({ displayName: 'Ada', identities: [{ platform: 'telegram', value: '7' }] }, 9)
    const people = createRelationshipsModel(sb.documents.doc('relationships'))
    await waitFor(() => people.get(ada)?.displayName === 'Ada', { timeoutMs: 15_000, what: 'relationships on b' })
    const atB = await waitFor(() => {
      const s = sb.sync.status()[a.mesh.peerId]
      return s?.docs.memory.failure?.code === 'SYNC_APPLY_FAILED' ? s : null
    }, { timeoutMs: 15_000, what: 'b to show the failed memory apply' })
    expect(atB.state).toBe('failing')
    expect(atB.docs.relationships.failure).toBeNull()
    expect(atB.backoff).toBeNull()
    expect(atB.recentRefusals).toBe(0)
    expect(sb.sync.refused()).toEqual({})
  })
})
