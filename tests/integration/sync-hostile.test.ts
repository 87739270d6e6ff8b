/**
 * Refusals on the sync stream: tampered, replayed, wrong-epoch and malformed frames are
 * refused, counted and never applied, and the stream stays up for the next good update.
 * And a removed machine gets nothing sealed under the new epoch.
 */
import * as Y from 'yjs'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { generateMeshKey } from '../../identity/index.js'
import { MAX_SYNC_FRAME, SYNC_PROTOCOL, encodeSyncMessage, openUpdate, sealUpdate } from '../../crdt/index.js'
import { frameStream } from '../../mesh/index.js'
import { withState } from '../support/agent-state.js'
import { connectedTo, startTestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

function memoryUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('entries').set(`x-${text}`, { text })
  return Y.encodeStateAsUpdate(doc)
}

describe('sync refusals', () => {
  it('refuses tampered, replayed, unknown-epoch and malformed frames and keeps the stream up', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    await b.mesh.join(a.mesh.invite(60_000).token)
    await waitFor(() => connectedTo(a, b), { timeoutMs: 15_000, what: 'a-b' })
    const sa = await withState(a)
    const meshId = a.mesh.status().meshId ?? ''
    const key = a.mesh.meshKeys().at(-1)
    if (key === undefined) throw new Error('no key')
    // b acts as a hostile member: it writes raw frames on its own sync stream to a.
    const stream = await b.mesh.host.libp2p.dialProtocol(multiaddr(a.mesh.host.addresses()[0] ?? ''), SYNC_PROTOCOL)
    const frames = frameStream(stream, MAX_SYNC_FRAME)
    const good = sealUpdate(key, meshId, 'memory', memoryUpdate('replayed'))
    const tampered = sealUpdate(key, meshId, 'memory', memoryUpdate('tampered'))
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0xff
    const wrongEpoch = sealUpdate(generateMeshKey(99), meshId, 'memory', memoryUpdate('epoch'))
    const otherDoc = sealUpdate(key, meshId, 'jobs', memoryUpdate('moved'))

    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: tampered }))
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: wrongEpoch }))
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: otherDoc }))
    await frames.write(new Uint8Array([2, 3, 200, 1, 2]))
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: good }))
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: good }))
    const last = sealUpdate(key, meshId, 'memory', memoryUpdate('after all that'))
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: last }))

    await waitFor(() => sa.state.documents.doc('memory').getMap('entries').has('x-after all that'), { timeoutMs: 10_000, what: 'the good update after the bad ones' })
    const entries = sa.state.documents.doc('memory').getMap('entries')
    expect(entries.has('x-replayed')).toBe(true)
    expect(entries.has('x-tampered')).toBe(false)
    expect(entries.has('x-epoch')).toBe(false)
    expect(sa.state.documents.doc('jobs').getMap('entries').size).toBe(0)
    expect(sa.state.sync.refused()).toMatchObject({ SYNC_UPDATE_REJECTED: 4, SYNC_FRAME_MALFORMED: 1 })
    frames.abort(new Error('done'))
  })

  it('gives a removed machine nothing under the new epoch, and re-seals the disk without its key', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    const c = await startTestNode({ name: 'c' })
    await b.mesh.join(a.mesh.invite(60_000).token)
    await c.mesh.join(a.mesh.invite(60_000).token)
    await waitFor(() => connectedTo(a, b) && connectedTo(a, c) && connectedTo(b, c), { timeoutMs: 15_000, what: 'full mesh' })
    const [sa, sb, sc] = [await withState(a), await withState(b), await withState(c)]
    sa.state.memory.add({ text: 'before removal', topic: 't', author: a.mesh.peerId }, 1)
    await waitFor(() => sc.state.memory.size() === 1 && sb.state.memory.size() === 1, { timeoutMs: 15_000, what: 'first write everywhere' })
    const oldKeys = c.mesh.meshKeys()
    await a.mesh.remove('c')
    await waitFor(() => b.mesh.meshKeys().length === 2, { timeoutMs: 15_000, what: 'b to learn epoch 2' })
    sa.state.memory.add({ text: 'after removal', topic: 't', author: a.mesh.peerId }, 2)
    await waitFor(() => sb.state.memory.size() === 2, { timeoutMs: 15_000, what: 'b to get the second write' })
    expect(sc.state.memory.size()).toBe(1)
    expect(c.mesh.meshKeys().map((k) => k.epoch)).toEqual([1])
    // Every row on a's disk is now sealed under epoch 2: c's keys open none of them.
    await waitFor(() => {
      const rows = sa.db.db.prepare('SELECT doc, sealed FROM doc_updates UNION ALL SELECT doc, sealed FROM doc_snapshots').all() as Array<{ doc: 'memory'; sealed: Buffer }>
      return rows.length > 0 && rows.every((r) => {
        try {
          openUpdate((e) => oldKeys.find((k) => k.epoch === e), a.mesh.status().meshId ?? '', r.doc, new Uint8Array(r.sealed))
          return false
        } catch {
          return true
        }
      })
    }, { timeoutMs: 10_000, what: 'disk re-sealed under the new epoch' })
  })
})
