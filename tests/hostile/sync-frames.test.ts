/**
 * Attacks and accidents on the sync stream (issue 9, part 4): a step 2 larger than what one
 * libp2p stream buffers, frames over the limit, bad chunk sequences, a sender that ignores the
 * flow window, and a member whose updates are refused again and again.
 */
import { describe, expect, it } from 'vitest'
import { withState } from '../support/agent-state.js'
import { connectedTo, startTestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

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
