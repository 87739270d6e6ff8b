/**
 * A member's links cut silently (the fault hook keeps the connections open and drops their
 * traffic, as a pulled cable does) and healed, between real loopback nodes: the others notice
 * the dead links by themselves (the failure detector), and after the heal the member is
 * connected again, follows the leader and has the writes made meanwhile, with nobody told
 * that the link is back (its reconnector finds out).
 */
import { describe, expect, it } from 'vitest'
import { createSystemClock } from '../../runtime/index.js'
import { connectedTo, oneLeader, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { withSyncEngine } from '../support/sync-node.js'
import { waitFor } from '../support/wait-for.js'

async function threeMembers(): Promise<TestNode[]> {
  const a = await startTestNode({ name: 'a', founder: true })
  const b = await startTestNode({ name: 'b' })
  await b.mesh.join(a.mesh.invite(60_000).token)
  const c = await startTestNode({ name: 'c' })
  await c.mesh.join(a.mesh.invite(60_000).token)
  const all = [a, b, c]
  await waitFor(() => all.every((x) => all.every((y) => x === y || connectedTo(x, y))), { timeoutMs: 30_000, what: 'a, b and c connected' })
  return all
}

/** Cuts `member` off from `others` on both sides, silently. */
async function cut(member: TestNode, others: TestNode[], heal = false): Promise<void> {
  await member.mesh.partition(heal ? [] : others.map((o) => o.mesh.peerId), { silent: true })
  for (const o of others) await o.mesh.partition(heal ? [] : [member.mesh.peerId], { silent: true })
}

describe('heal', () => {
  it('notices a silently cut member by itself, and after the heal has it connected, following the leader and in sync', { timeout: 120_000 }, async () => {
    const nodes = await threeMembers()
    const docs = new Map<TestNode, Awaited<ReturnType<typeof withSyncEngine>>>()
    for (const n of nodes) docs.set(n, await withSyncEngine(n))
    const leader = await oneLeader(nodes, 30_000)
    const member = nodes.find((n) => n !== leader) as TestNode
    const others = nodes.filter((n) => n !== member)

    await cut(member, others)
    // The connections are still open: only the failure detector can tell they are dead.
    await waitFor(() => others.every((o) => !connectedTo(o, member)) && others.every((o) => !connectedTo(member, o)), {
      timeoutMs: 30_000,
      what: 'both sides of the cut to notice the dead links',
    })
    const id = docs.get(leader)?.memory.add({ text: 'written during the cut', topic: 'heal', author: 'test' }, createSystemClock().now()) as string
    expect(docs.get(member)?.memory.get(id)).toBeUndefined()

    await cut(member, others, true)
    await waitFor(() => others.every((o) => connectedTo(o, member) && connectedTo(member, o)), { timeoutMs: 30_000, what: 'the member connected again' })
    await waitFor(() => member.mesh.leader().leader === leader.mesh.peerId && leader.mesh.leader().role === 'leader', {
      timeoutMs: 30_000,
      what: 'the member following the leader',
    })
    await waitFor(() => docs.get(member)?.memory.get(id)?.text === 'written during the cut', { timeoutMs: 30_000, what: 'the write made during the cut' })
  })
})
