/** A witness between real loopback nodes: it pairs, votes, never leads, breaks a two-machine split, holds no agent state. */
import { describe, expect, it } from 'vitest'
import { connectedTo, leading, oneLeader, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

interface WitnessMesh {
  a: TestNode
  b: TestNode
  w: TestNode
}

/** Two machines and a witness, all connected to each other. */
async function witnessMesh(): Promise<WitnessMesh> {
  const a = await startTestNode({ name: 'a', founder: true })
  const b = await startTestNode({ name: 'b' })
  await b.mesh.join(a.mesh.invite(60_000).token)
  const w = await startTestNode({ name: 'w', witness: true })
  await w.mesh.join(a.mesh.invite(60_000, 'witness').token)
  const all = [a, b, w]
  await waitFor(() => all.every((x) => all.every((y) => x === y || connectedTo(x, y))), { timeoutMs: 20_000, what: 'a, b and the witness connected' })
  // Each takes the three-voter configuration from the leader's heartbeats; a leader that dies
  // before it reaches the others leaves them unable to lead, so the tests start from there.
  await waitFor(() => all.every((x) => x.mesh.leader().mode === 'witness'), { timeoutMs: 20_000, what: 'all three in the witness configuration' })
  return { a, b, w }
}

describe('witness', () => {
  it('pairs as a witness: listed as one, holding the agent public key but no agent seed and no mesh key', async () => {
    const { a, b, w } = await witnessMesh()
    expect(w.persisted.joined).toMatchObject({ role: 'witness', agentName: 'kira' })
    expect(w.persisted.joined).not.toHaveProperty('agentSeed')
    expect(w.persisted.meshKeys).toEqual([])
    expect(w.mesh.meshKeys()).toEqual([])
    expect(w.mesh.status()).toMatchObject({ member: false, witness: true, members: 2, witnesses: 1, meshId: a.mesh.status().meshId })
    for (const node of [a, b]) {
      const views = node.mesh.peers()
      expect(views.find((p) => p.peerId === w.mesh.peerId)).toMatchObject({ name: 'w', role: 'witness' })
      expect(views.filter((p) => p.role === 'member').map((p) => p.name).sort()).toEqual(['a', 'b'])
      // The agent's documents are not for the witness: it is no "member" to the state layer.
      expect(node.mesh.connectedMembers()).not.toContain(w.mesh.peerId)
    }
  })

  it('puts a two-machine mesh in witness mode, where the witness follows the leader and never leads', async () => {
    const { a, b, w } = await witnessMesh()
    const leader = await oneLeader([a, b, w])
    expect(leader).not.toBe(w)
    for (const node of [a, b, w]) expect(node.mesh.leader().mode).toBe('witness')
    expect(w.mesh.leader().role).toBe('follower')
  })

  it('lets the surviving machine lead with the witness\'s vote when the leader dies', async () => {
    const { a, b, w } = await witnessMesh()
    const first = await oneLeader([a, b, w])
    const term = first.mesh.leader().term
    await first.mesh.stop()
    const survivor = first === a ? b : a
    const second = await oneLeader([survivor, w])
    expect(second).toBe(survivor)
    expect(second.mesh.leader().term).toBeGreaterThan(term)
  })

  it('keeps a leader while both machines are up and the witness is down', async () => {
    const { a, b, w } = await witnessMesh()
    await oneLeader([a, b, w])
    await w.mesh.stop()
    const leader = await oneLeader([a, b])
    expect(leader.mesh.leader().mode).toBe('witness')
  })

  it('never gives two leaders when the leader is cut off from the other machine and the witness', async () => {
    const { a, b, w } = await witnessMesh()
    const first = await oneLeader([a, b, w])
    const other = first === a ? b : a
    const lost: string[] = []
    first.mesh.onLease('lease:lost', (e) => lost.push(e.reason))
    await first.mesh.partition([other.mesh.peerId, w.mesh.peerId])
    await other.mesh.partition([first.mesh.peerId])
    await w.mesh.partition([first.mesh.peerId])
    // The cut-off leader steps down (it cannot reach a majority); the other machine and the witness
    // elect. Sampled all along: the two machines never both lead.
    let overlaps = 0
    const second = await waitFor(() => {
      if (leading([a, b]).length > 1) overlaps++
      const l = leading([other])
      return l.length === 1 && w.mesh.leader().leader === other.mesh.peerId && first.mesh.leader().role !== 'leader' ? l[0] : null
    }, { timeoutMs: 15_000, what: 'the other machine to lead with the witness' })
    expect(second).toBe(other)
    expect(overlaps).toBe(0)
    expect(lost.length).toBeGreaterThan(0)
    expect(first.mesh.leader().role).not.toBe('leader')
  })

  it('refuses a witness invitation on a machine and a machine invitation on a witness, saying which is which', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    const w = await startTestNode({ name: 'w', witness: true })
    await expect(b.mesh.join(a.mesh.invite(60_000, 'witness').token)).rejects.toMatchObject({ code: 'PAIRING_ROLE_MISMATCH' })
    await expect(w.mesh.join(a.mesh.invite(60_000).token)).rejects.toMatchObject({ code: 'PAIRING_ROLE_MISMATCH' })
    expect(b.mesh.status().member).toBe(false)
    expect(w.mesh.status().witness).toBe(false)
  })

  it('refuses to invite, remove or leave on a witness', async () => {
    const { a, w } = await witnessMesh()
    expect(() => w.mesh.invite(60_000)).toThrowError(expect.objectContaining({ code: 'MESH_NOT_MEMBER' }))
    await expect(w.mesh.remove('a')).rejects.toMatchObject({ code: 'ROSTER_NOT_MEMBER' })
    await expect(w.mesh.leave()).rejects.toMatchObject({ code: 'MESH_NOT_MEMBER' })
    expect(a.mesh.roster()?.isMember(a.mesh.peerId)).toBe(true)
  })

  it('resets a witness\'s stream to a members-only protocol', async () => {
    const { a, w } = await witnessMesh()
    let reached = 0
    await a.mesh.handle('/instar/test-members-only/1.0.0', (stream) => {
      reached++
      stream.abort(new Error('test'))
    })
    const libp2p = w.mesh.host.libp2p
    const connection = libp2p.getConnections().find((c) => c.remotePeer.toString() === a.mesh.peerId)
    const stream = await connection?.newStream('/instar/test-members-only/1.0.0').catch(() => null)
    if (stream !== null && stream !== undefined) {
      await waitFor(() => stream.status !== 'open', { timeoutMs: 5000, what: 'the stream to be reset' })
    }
    expect(reached).toBe(0)
    await expect(a.mesh.openStream(w.mesh.peerId, '/instar/test-members-only/1.0.0')).rejects.toMatchObject({ code: 'MESH_NOT_MEMBER' })
  })

  it('keeps its role across a restart', async () => {
    const { a, b, w } = await witnessMesh()
    const again = await w.restart()
    await waitFor(() => connectedTo(again, a) && connectedTo(again, b), { timeoutMs: 15_000, what: 'the restarted witness to reconnect' })
    expect(again.mesh.status().witness).toBe(true)
    await oneLeader([a, b, again])
  })

  it('returns the mesh to preferred-primary when the witness is removed, without a new mesh key', async () => {
    const { a, b, w } = await witnessMesh()
    const epoch = a.mesh.status().meshKeyEpoch
    const removed = await a.mesh.remove('w')
    expect(removed.role).toBe('witness')
    await waitFor(() => b.mesh.leader().mode === 'preferred-primary' && a.mesh.leader().mode === 'preferred-primary', {
      timeoutMs: 10_000,
      what: 'both machines in preferred-primary mode',
    })
    expect(a.mesh.status().meshKeyEpoch).toBe(epoch)
    // The witness hears of its removal over a roster push that races the hang-up: wait for both.
    await waitFor(() => !connectedTo(a, w) && !connectedTo(b, w), { timeoutMs: 30_000, what: 'the witness disconnected' })
    await waitFor(() => w.mesh.status().removed, { timeoutMs: 30_000, what: 'the witness to learn of its removal' })
  })
})
