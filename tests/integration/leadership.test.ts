/** Leader election between real loopback nodes: one leader, failover, hand-off, fencing, modes. */
import { describe, expect, it } from 'vitest'
import { connectedTo, leading, oneLeader, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

async function mesh(count: number, priorities: number[] = []): Promise<TestNode[]> {
  const nodes = [await startTestNode({ name: 'n0', founder: true, priority: priorities[0] ?? 0 })]
  for (let i = 1; i < count; i++) {
    const node = await startTestNode({ name: `n${i}`, priority: priorities[i] ?? 0 })
    await node.mesh.join((nodes[0] as TestNode).mesh.invite(60_000).token)
    nodes.push(node)
  }
  await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || connectedTo(a, b))), { timeoutMs: 20_000, what: 'full mesh' })
  return nodes
}

describe('leadership', () => {
  it('elects exactly one leader among three nodes, in quorum mode', async () => {
    const nodes = await mesh(3)
    const leader = await oneLeader(nodes)
    expect(leader.mesh.leader().mode).toBe('quorum')
    expect(leader.mesh.leader().leaseExpiresAt).toBeGreaterThan(0)
    expect(() => leader.mesh.fence(leader.mesh.leader().term)).not.toThrow()
  })

  it('fails over when the leader dies, with a higher term, and fences the old term', async () => {
    const nodes = await mesh(3)
    const first = await oneLeader(nodes)
    const term = first.mesh.leader().term
    await first.mesh.stop()
    const rest = nodes.filter((n) => n !== first)
    const second = await oneLeader(rest)
    expect(second.mesh.peerId).not.toBe(first.mesh.peerId)
    expect(second.mesh.leader().term).toBeGreaterThan(term)
    expect(() => second.mesh.fence(term)).toThrowError(expect.objectContaining({ code: 'LEASE_TERM_STALE' }))
  })

  it('hands leadership over on a graceful stop, and the leader gives up its lease first', async () => {
    const nodes = await mesh(3)
    const first = await oneLeader(nodes)
    const term = first.mesh.leader().term
    const lost: string[] = []
    first.mesh.onLease('lease:lost', (e) => lost.push(e.reason))
    // What `instar node stop` does: hand off, then stop.
    await first.mesh.handOff()
    expect(lost).toHaveLength(1)
    expect(() => first.mesh.fence(term)).toThrowError(expect.objectContaining({ code: 'LEASE_TERM_STALE' }))
    await first.mesh.stop()
    const rest = nodes.filter((n) => n !== first)
    const second = await oneLeader(rest)
    expect(second.mesh.peerId).not.toBe(first.mesh.peerId)
    expect(second.mesh.leader().term).toBeGreaterThan(term)
  })

  it('gives leadership to the machine of higher priority by an orderly handback', async () => {
    const nodes = await mesh(3, [0, 0, 10])
    const leader = await waitFor(() => {
      const l = leading(nodes)
      return l.length === 1 && l[0]?.name === 'n2' ? l[0] : null
    }, { timeoutMs: 20_000, what: 'n2 (priority 10) to lead' })
    expect(leader.name).toBe('n2')
  })

  it('says preferred-primary with two machines and lets the survivor take over', async () => {
    const nodes = await mesh(2)
    const first = await oneLeader(nodes)
    // The joiner counts as a voter once the leader's new configuration reaches it (a heartbeat
    // or two after the pairing); a leader that dies before that leaves it unable to lead.
    await waitFor(() => nodes.every((n) => n.mesh.leader().mode === 'preferred-primary'), { timeoutMs: 10_000, what: 'both machines in the two-voter configuration' })
    await first.mesh.stop()
    const survivor = nodes.find((n) => n !== first) as TestNode
    await waitFor(() => survivor.mesh.leader().role === 'leader', { timeoutMs: 15_000, what: 'the survivor to lead' })
  })
})
