/**
 * Documents larger than one frame, and larger than what libp2p buffers per stream, between
 * real loopback nodes: chunked step 2s, and the flow window holding a sender back while its
 * reader is slow.
 */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { withState } from '../support/agent-state.js'
import { connectedTo, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { withSyncEngine } from '../support/sync-node.js'
import { waitFor } from '../support/wait-for.js'

/** 20,000 characters, the most one memory entry holds. */
const TEXT = 'lorem ipsum dolor sit amet '.repeat(740)

async function pairedPair(): Promise<[TestNode, TestNode]> {
  const a = await startTestNode({ name: 'a', founder: true })
  const b = await startTestNode({ name: 'b' })
  await b.mesh.join(a.mesh.invite(60_000).token)
  await waitFor(() => connectedTo(a, b), { timeoutMs: 15_000, what: 'a-b' })
  return [a, b]
}

const vector = (doc: Y.Doc): Buffer => Buffer.from(Y.encodeStateVector(doc))

describe('large documents', () => {
  it('catches up a member that joins a mesh whose memory document is 50 MiB', { timeout: 240_000 }, async () => {
    const [a, b] = await pairedPair()
    const sa = await withState(a)
    const entries = 2_650
    for (let i = 0; i < entries; i++) sa.state.memory.add({ text: `${i} ${TEXT}`, topic: 'big', author: a.mesh.peerId }, i)
    const size = Y.encodeStateAsUpdate(sa.state.documents.doc('memory')).length
    expect(size).toBeGreaterThan(50 * 1024 * 1024)
    const sb = await withState(b)
    await waitFor(() => sb.state.memory.size() === entries, { timeoutMs: 180_000, intervalMs: 200, what: 'b to catch up the 50 MiB document' })
    expect(vector(sb.state.documents.doc('memory')).equals(vector(sa.state.documents.doc('memory')))).toBe(true)
    expect(sb.state.memory.get(sa.state.memory.all()[entries - 1]?.id ?? '')?.text).toBe(`${entries - 1} ${TEXT}`)
    const live = sa.state.memory.add({ text: 'written after the catch-up', topic: 'live', author: a.mesh.peerId }, entries)
    await waitFor(() => sb.state.memory.get(live) !== undefined, { timeoutMs: 15_000, what: 'the live write on b' })
    await waitFor(() => sa.state.sync.status()[b.mesh.peerId]?.state === 'in-sync', { timeoutMs: 15_000, what: 'a to show b in sync' })
    expect(sb.state.sync.refused()).toEqual({})
    expect(sb.state.sync.status()[a.mesh.peerId]?.resets).toBe(0)
  })

  it('holds a sender back while its reader is slow, and loses nothing (8 MiB step 2 to a reader that applies slowly)', { timeout: 120_000 }, async () => {
    const [a, b] = await pairedPair()
    const sa = await withState(a)
    for (let i = 0; i < 420; i++) sa.state.memory.add({ text: `${i} ${TEXT}`, topic: 'big', author: a.mesh.peerId }, i)
    // b's first apply waits until released: a's step 2, its updates and everything after pile
    // up behind it. Without a flow window they would overflow libp2p's 4 MiB buffer.
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let applies = 0
    const sb = await withSyncEngine(b, {
      applyRemote: async (real, ...args) => {
        applies++
        await gate
        return real(...args)
      },
    })
    await waitFor(() => applies === 1, { timeoutMs: 30_000, what: 'b to begin its first apply' })
    const later: string[] = []
    for (let i = 0; i < 300; i++) later.push(sa.state.memory.add({ text: `later ${i} ${TEXT}`, topic: 'later', author: a.mesh.peerId }, 1000 + i))
    release()
    await waitFor(() => sb.memory.size() === 720, { timeoutMs: 60_000, intervalMs: 100, what: 'b to have every entry' })
    expect(later.every((id) => sb.memory.get(id) !== undefined)).toBe(true)
    expect(sb.sync.status()[a.mesh.peerId]?.resets).toBe(0)
    expect(sa.state.sync.status()[b.mesh.peerId]?.resets).toBe(0)
    expect(sb.sync.refused()).toEqual({})
  })
})
