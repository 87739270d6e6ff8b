/**
 * Attacks and accidents on the sync stream (issue 9, part 4): a step 2 larger than what one
 * libp2p stream buffers, frames over the limit, bad chunk sequences, a sender that ignores the
 * flow window, and a member whose updates are refused again and again.
 */
import * as Y from 'yjs'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { generateMeshKey, type MeshKey } from '../../identity/index.js'
import { MAX_SYNC_FRAME, SYNC_PROTOCOL, SYNC_WINDOW_BYTES, encodeSyncMessage, sealUpdate, type DocName } from '../../crdt/index.js'
import { frameStream, type FrameStream } from '../../mesh/index.js'
import { createManualClock } from '../../runtime/index.js'
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

/** b as a hostile member: a raw sync stream of its own to a, on which it writes what it likes. */
async function rawStream(from: TestNode, to: TestNode, maxFrame = MAX_SYNC_FRAME): Promise<FrameStream> {
  const stream = await from.mesh.host.libp2p.dialProtocol(multiaddr(to.mesh.host.addresses()[0] ?? ''), SYNC_PROTOCOL)
  return frameStream(stream, maxFrame)
}

/** A memory document update adding one entry, keyed x-<text>. */
/** A memory entry as the model writes it: one plain record under its id (a nested map breaks the schema). */
function memoryUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('entries').set(`x-${text}`, { topic: 'hostile', text, tags: [], author: 'h', createdAt: 1, updatedAt: 1 })
  return Y.encodeStateAsUpdate(doc)
}

function keyOf(node: TestNode): { key: MeshKey; meshId: string } {
  const key = node.mesh.meshKeys().at(-1)
  if (key === undefined) throw new Error('no mesh key')
  return { key, meshId: node.mesh.status().meshId ?? '' }
}

/** Resolves once the stream has been reset by the other side (a read fails). */
async function resetByPeer(frames: FrameStream): Promise<boolean> {
  const stop = new AbortController()
  try {
    for (;;) await frames.read({ signal: stop.signal })
  } catch {
    return true
  }
}

const has = (doc: Y.Doc, text: string): boolean => doc.getMap('entries').has(`x-${text}`)

const BIG_TEXT = 'lorem ipsum dolor sit amet '.repeat(740)

describe('a document larger than one stream buffer', () => {
  it('does not stop live writes from reaching a member that reconnects (9 MB document)', { timeout: 120_000 }, async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    await b.mesh.join(a.mesh.invite(60_000).token)
    await waitFor(() => connectedTo(a, b), { timeoutMs: 15_000, what: 'a-b' })
    const sa = await withState(a)
    const sb = await withState(b)
    sb.state.stop()
    sb.db.close()
    // 450 entries of 20,000 characters: a 9 MB document, over libp2p's 4 MiB stream buffer.
    for (let i = 0; i < 450; i++) sa.state.memory.add({ text: `${i} ${BIG_TEXT}`, topic: 'big', author: a.mesh.peerId }, i)
    const again = await withState(b, sb.dbPath)
    await waitFor(() => again.state.memory.size() === 450, { timeoutMs: 60_000, what: 'b to catch up the 9 MB document' })
    const live = sa.state.memory.add({ text: 'a live write after the catch-up', topic: 'live', author: a.mesh.peerId }, 1000)
    await waitFor(() => again.state.memory.get(live) !== undefined, { timeoutMs: 15_000, what: 'the live write on b' })
    expect(again.state.sync.refused()).toEqual({})
  })
})

describe('frames and chunks a hostile member sends', () => {
  it('refuses a frame over the limit with SYNC_FRAME_TOO_LARGE, counts it, resets only that stream, and syncs on the next one', async () => {
    const [a, b] = await pairedPair()
    const sa = await withState(a)
    const { key, meshId } = keyOf(a)
    // A 5 MiB frame: over version 1's silent 4 MiB reset, and over the 1 MiB limit now.
    const big = await rawStream(b, a, 8 * 1024 * 1024)
    const ended = resetByPeer(big)
    await big.write(new Uint8Array(5 * 1024 * 1024).fill(2)).catch(() => undefined)
    expect(await ended).toBe(true)
    await waitFor(() => sa.state.sync.refused().SYNC_FRAME_TOO_LARGE === 1, { timeoutMs: 10_000, what: 'the refusal counted' })
    const atA = sa.state.sync.status()[b.mesh.peerId]
    expect(atA?.refused).toMatchObject({ SYNC_FRAME_TOO_LARGE: 1 })
    expect(atA?.resets).toBeGreaterThanOrEqual(1)
    expect(atA?.lastFailure?.code).toBe('SYNC_STREAM_RESET')
    const next = await rawStream(b, a)
    await next.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: sealUpdate(key, meshId, 'memory', memoryUpdate('after the big frame')) }))
    await waitFor(() => has(sa.state.documents.doc('memory'), 'after the big frame'), { timeoutMs: 10_000, what: 'the next stream applied' })
    next.abort(new Error('done'))
  })

  it('refuses bad chunk sequences and a failing step 2 for some documents while the others go on syncing on the same stream', async () => {
    const [a, b] = await pairedPair()
    const sa = await withState(a)
    const { key, meshId } = keyOf(a)
    const frames = await rawStream(b, a)
    const seal = (doc: DocName, text: string) => sealUpdate(key, meshId, doc, memoryUpdate(text))
    const chunked = seal('memory', 'chunked')
    const half = Math.ceil(chunked.length / 2)
    const chunk = (doc: DocName, id: number, index: number, count: number, total: number, data: Uint8Array) =>
      encodeSyncMessage({ type: 'chunk', doc, of: 'update', id, index, count, total, data })
    const tampered = seal('jobs', 'tampered step 2')
    tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 0x55
    const frameList = [
      // A good update in two chunks.
      chunk('memory', 1, 0, 2, chunked.length, chunked.subarray(0, half)),
      chunk('memory', 1, 1, 2, chunked.length, chunked.subarray(half)),
      // Out of order, then the rest of that message, then a chunk of a message never begun: one refusal each.
      chunk('jobs', 2, 0, 4, 40, new Uint8Array(10)),
      chunk('jobs', 2, 2, 4, 40, new Uint8Array(10)),
      chunk('jobs', 2, 3, 4, 40, new Uint8Array(10)),
      chunk('jobs', 99, 1, 3, 30, new Uint8Array(10)),
      encodeSyncMessage({ type: 'update', doc: 'memory', sealed: seal('memory', 'between') }),
      // A step 2 that fails to open for jobs, and a good one for memory.
      encodeSyncMessage({ type: 'step2', doc: 'jobs', sealed: tampered }),
      encodeSyncMessage({ type: 'step2', doc: 'memory', sealed: seal('memory', 'good step 2') }),
      // Nine messages begun for channels, never finished: the ninth is one too many.
      ...Array.from({ length: 9 }, (_, i) => chunk('channels', 10 + i, 0, 2, 20, new Uint8Array(10))),
      encodeSyncMessage({ type: 'update', doc: 'memory', sealed: seal('memory', 'last') }),
    ]
    for (const f of frameList) await frames.write(f)
    const memory = sa.state.documents.doc('memory')
    await waitFor(() => has(memory, 'last'), { timeoutMs: 10_000, what: 'the last good update' })
    expect(['chunked', 'between', 'good step 2'].every((t) => has(memory, t))).toBe(true)
    expect(sa.state.documents.doc('jobs').getMap('entries').size).toBe(0)
    const atA = sa.state.sync.status()[b.mesh.peerId]
    expect(atA?.refused).toEqual({ SYNC_CHUNK_REFUSED: 3, SYNC_UPDATE_REJECTED: 1 })
    expect(atA?.docs.jobs.failure?.code).toBe('SYNC_UPDATE_REJECTED')
    expect(atA?.docs.channels.failure?.code).toBe('SYNC_CHUNK_REFUSED')
    expect(atA?.docs.memory.failure).toBeNull()
    expect(atA?.resets).toBe(0)
    frames.abort(new Error('done'))
  })

  it('resets the stream of a sender that writes past its flow window while the reader is busy, with SYNC_FLOW_VIOLATION', async () => {
    const [a, b] = await pairedPair()
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let applies = 0
    const sa = await withSyncEngine(a, {
      applyRemote: async (real, ...args) => {
        applies++
        await gate
        return real(...args)
      },
    })
    const { key, meshId } = keyOf(a)
    const frames = await rawStream(b, a)
    const ended = resetByPeer(frames)
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: sealUpdate(key, meshId, 'memory', memoryUpdate('slow')) }))
    await waitFor(() => applies === 1, { timeoutMs: 10_000, what: 'a busy applying' })
    // Never reads a's credits: 3 MiB more while a is busy.
    const filler = sealUpdate(generateMeshKey(77), meshId, 'memory', new Uint8Array(256 * 1024))
    const writes: Array<Promise<void>> = []
    for (let sent = 0; sent <= SYNC_WINDOW_BYTES + 1024 * 1024; sent += filler.length) {
      writes.push(frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: filler })).catch(() => undefined))
    }
    expect(await ended).toBe(true)
    await waitFor(() => sa.sync.refused().SYNC_FLOW_VIOLATION === 1, { timeoutMs: 10_000, what: 'the flow violation counted' })
    release()
    await Promise.all(writes)
  })
})

describe('a member whose updates are refused again and again', () => {
  it('is cut off from sync for a backoff that grows, says why, and syncs again afterwards (manual clock)', async () => {
    const [a, b] = await pairedPair()
    const clock = createManualClock(1_000_000)
    const sa = await withSyncEngine(a, { clock, sync: { backoff: { refusalLimit: 3, refusalWindowMs: 60_000, backoffMs: 30_000 } } })
    const { key, meshId } = keyOf(a)
    const frames = await rawStream(b, a)
    const ended = resetByPeer(frames)
    for (let i = 0; i < 3; i++) {
      const bad = sealUpdate(key, meshId, 'memory', memoryUpdate(`bad ${i}`))
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1
      await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: bad }))
    }
    expect(await ended).toBe(true)
    const atA = sa.sync.status()[b.mesh.peerId]
    expect(atA?.state).toBe('backoff')
    expect(atA?.reason).toContain('SYNC_UPDATE_REJECTED (auth-failed)')
    expect(atA?.backoff).toEqual({ until: 1_000_000 + 30_000, times: 1, reason: atA?.reason })
    expect(atA?.streams).toEqual({ outbound: false, inbound: false })

    // During the backoff a stream from b is reset before anything on it is read.
    const during = await rawStream(b, a)
    const duringEnded = resetByPeer(during)
    await during.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: sealUpdate(key, meshId, 'memory', memoryUpdate('during')) })).catch(() => undefined)
    expect(await duringEnded).toBe(true)
    expect(has(sa.documents.doc('memory'), 'during')).toBe(false)
    // b runs its real engine now: its streams to a are refused, and a does not open one to b.
    const sb = await withState(b)
    await waitFor(() => (sb.state.sync.status()[a.mesh.peerId]?.resets ?? 0) >= 1, { timeoutMs: 15_000, what: 'b to be refused' })
    expect(sa.sync.status()[b.mesh.peerId]?.streams).toEqual({ outbound: false, inbound: false })

    clock.advance(30_000)
    const back = sb.state.memory.add({ text: 'after the backoff', topic: 't', author: b.mesh.peerId }, 1)
    await waitFor(() => sa.memory.get(back) !== undefined, { timeoutMs: 15_000, what: "b's write on a after the backoff" })
    await waitFor(() => sa.sync.status()[b.mesh.peerId]?.streams.inbound === true, { timeoutMs: 15_000, what: 'b streaming to a' })
    expect(sa.sync.status()[b.mesh.peerId]?.state).not.toBe('backoff')

    // Three more refusals soon after, on a raw stream again (b's engine stopped, so that its
    // own stream does not replace the raw one): the next backoff is twice as long.
    sb.state.stop()
    await waitFor(() => sa.sync.status()[b.mesh.peerId]?.streams.inbound === false, { timeoutMs: 15_000, what: "b's stream to a closed" })
    const again = await rawStream(b, a)
    for (let i = 0; i < 3; i++) await again.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: new Uint8Array([9, 9, 9]) }))
    await waitFor(() => sa.sync.status()[b.mesh.peerId]?.state === 'backoff', { timeoutMs: 10_000, what: 'the second backoff' })
    expect(sa.sync.status()[b.mesh.peerId]?.backoff).toMatchObject({ times: 2, until: clock.now() + 60_000 })
  })

  it('does not cut off a member for unknown-epoch updates or replays, which a healthy member sends during a key rotation or a retry', async () => {
    const [a, b] = await pairedPair()
    const clock = createManualClock(0)
    const sa = await withSyncEngine(a, { clock, sync: { backoff: { refusalLimit: 3 } } })
    const { key, meshId } = keyOf(a)
    const frames = await rawStream(b, a)
    const ahead = generateMeshKey(key.epoch + 1)
    for (let i = 0; i < 10; i++) await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: sealUpdate(ahead, meshId, 'memory', memoryUpdate(`next epoch ${i}`)) }))
    const twice = sealUpdate(key, meshId, 'memory', memoryUpdate('twice'))
    for (let i = 0; i < 10; i++) await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: twice }))
    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: sealUpdate(key, meshId, 'memory', memoryUpdate('still here')) }))
    await waitFor(() => has(sa.documents.doc('memory'), 'still here'), { timeoutMs: 10_000, what: 'the last update' })
    const atA = sa.sync.status()[b.mesh.peerId]
    expect(atA?.refused).toEqual({ SYNC_UPDATE_REJECTED: 19 })
    expect(atA?.backoff).toBeNull()
    expect(atA?.recentRefusals).toBe(0)
    expect(atA?.streams.inbound).toBe(true)
    frames.abort(new Error('done'))
  })
})
