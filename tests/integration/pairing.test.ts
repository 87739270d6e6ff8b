/**
 * Three real mesh nodes on loopback: pairing by invitation, transitive membership, gated
 * connections, removal with key rotation, and reconnection after a restart.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { createMeshHost, type InvitationRecord, type InvitationStore } from '../../mesh/index.js'
import { generateSeed } from '../../identity/index.js'
import { PAIRING_PROTOCOL, ROSTER_SYNC_PROTOCOL } from '../../mesh/index.js'
import { connectedTo, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { stablePort } from '../support/ports.js'
import { waitFor } from '../support/wait-for.js'
import { onTestFinished } from 'vitest'

async function pair(inviter: TestNode, joiner: TestNode) {
  const invitation = inviter.mesh.invite(15 * 60_000)
  const joined = await joiner.mesh.join(invitation.token)
  return { invitation, joined }
}

async function threeNodeMesh(): Promise<[TestNode, TestNode, TestNode]> {
  const a = await startTestNode({ name: 'a', founder: true })
  const b = await startTestNode({ name: 'b' })
  const c = await startTestNode({ name: 'c' })
  await pair(a, b)
  await pair(b, c)
  await waitFor(() => connectedTo(a, c) && connectedTo(c, a) && connectedTo(a, b) && connectedTo(b, c), { timeoutMs: 15_000, what: 'a full mesh' })
  return [a, b, c]
}

describe('pairing', () => {
  it('joins a machine by invitation, with the same SAS on both sides', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    const { invitation, joined } = await pair(a, b)
    expect(joined.sas).toBe(invitation.sas)
    expect(joined.mesh).toBe(a.mesh.status().meshId)
    expect(joined.members.map((m) => m.name).sort()).toEqual(['a', 'b'])
    expect(b.persisted.joined).toMatchObject({ agentSeed: (a.persisted.joined as { agentSeed: Uint8Array }).agentSeed })
    expect(b.persisted.meshKeys).toEqual(a.persisted.meshKeys)
    await waitFor(() => connectedTo(a, b) && connectedTo(b, a), { timeoutMs: 10_000, what: 'a and b connected' })
  })

  it('makes membership transitive: C joining through B connects to A without any command', async () => {
    const [a, b, c] = await threeNodeMesh()
    for (const node of [a, b, c]) {
      expect(node.mesh.peers().map((p) => p.name).sort()).toEqual(['a', 'b', 'c'])
    }
  })

  it('refuses a replayed invitation with PAIRING_INVITATION_USED and changes nothing', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    const c = await startTestNode({ name: 'c' })
    const { invitation } = await pair(a, b)
    const before = a.mesh.roster()?.members().length
    await expect(c.mesh.join(invitation.token)).rejects.toMatchObject({ code: 'PAIRING_REFUSED', remoteCode: expect.stringMatching(/PAIRING_INVITATION_(USED|UNKNOWN)/) })
    expect(a.mesh.roster()?.members().length).toBe(before)
    expect(c.mesh.status().member).toBe(false)
  })

  it('refuses an unpaired peer every protocol, and pairing too when no invitation is pending', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const stranger = await createMeshHost({ seed: generateSeed() }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
    onTestFinished(() => stranger.stop())
    await stranger.start()
    const target = multiaddr(a.mesh.host.addresses()[0] ?? '')
    // No pending invitation: the connection itself is refused.
    await expect(stranger.libp2p.dialProtocol(target, PAIRING_PROTOCOL, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    // With an invitation pending it may connect, but only pairing answers.
    a.mesh.invite(60_000)
    for (const protocol of [ROSTER_SYNC_PROTOCOL, '/ipfs/ping/1.0.0', '/ipfs/id/1.0.0']) {
      const outcome = await stranger.libp2p
        .dialProtocol(target, protocol, { signal: AbortSignal.timeout(5000) })
        .then(async (stream) => {
          // The guard resets the stream before any byte is answered.
          const reply = await readAnything(stream)
          return reply === null ? 'refused' : 'answered'
        })
        .catch(() => 'refused')
      expect(outcome, protocol).toBe('refused')
    }
    const pairingStream = await stranger.libp2p.dialProtocol(target, PAIRING_PROTOCOL, { signal: AbortSignal.timeout(5000) })
    expect(pairingStream.protocol).toBe(PAIRING_PROTOCOL)
    pairingStream.abort(new Error('done'))
  })

  it('refuses a forged invitation on the joining side before dialling', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    const token = a.mesh.invite(60_000).token
    const altered = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`
    await expect(b.mesh.join(altered)).rejects.toMatchObject({ code: expect.stringMatching(/PAIRING_INVITATION_(FORGED|MALFORMED)/) })
    await expect(b.mesh.join(token.slice(0, token.length - 5))).rejects.toMatchObject({ code: 'PAIRING_INVITATION_MALFORMED' })
  })
})

describe('invitations across a restart', () => {
  /** A store that keeps what the inviter saves, as invitations.json does. */
  const keptInvitations = (): InvitationStore & { records: InvitationRecord[] } => {
    const kept = { records: [] as InvitationRecord[] }
    return Object.assign(kept, { load: () => kept.records.map((r) => ({ ...r })), save: (records: InvitationRecord[]) => void (kept.records = records.map((r) => ({ ...r }))) })
  }

  it('keeps an open invitation usable after the inviter restarts, and single-use after another', async () => {
    const invitations = keptInvitations()
    // The invitation names a's address: a listens on a port no other process can take while it restarts.
    const a = await startTestNode({ name: 'a', founder: true, invitations, port: await stablePort() })
    const invitation = a.mesh.invite(10 * 60_000)
    expect(JSON.stringify(invitations.records)).not.toContain(Buffer.from(invitation.secret).toString('hex'))
    const again = await a.restart({ samePort: true })
    expect(again.mesh.status().pendingInvitations).toBe(1)
    const b = await startTestNode({ name: 'b' })
    const joined = await b.mesh.join(invitation.token)
    expect(joined.sas).toBe(invitation.sas)
    const third = await again.restart({ samePort: true })
    const c = await startTestNode({ name: 'c' })
    await expect(c.mesh.join(invitation.token)).rejects.toMatchObject({ code: 'PAIRING_REFUSED', remoteCode: 'PAIRING_INVITATION_USED' })
    expect(third.mesh.roster()?.members().map((m) => m.name).sort()).toEqual(['a', 'b'])
  })
})

describe('removal', () => {
  it('disconnects a removed machine everywhere, refuses it after, and rotates the mesh key without it', async () => {
    const [a, b, c] = await threeNodeMesh()
    const epochBefore = a.mesh.status().meshKeyEpoch
    await a.mesh.remove('c')
    await waitFor(() => !connectedTo(a, c) && !b.mesh.peers().some((p) => p.peerId === c.mesh.peerId), { timeoutMs: 10_000, what: 'c gone from a and b' })
    await waitFor(() => b.persisted.meshKeys.length > 1, { timeoutMs: 10_000, what: 'b to learn the new epoch' })
    expect(a.mesh.status().meshKeyEpoch).toBe(epochBefore + 1)
    expect(b.persisted.meshKeys.at(-1)?.epoch).toBe(epochBefore + 1)
    expect(c.persisted.meshKeys.at(-1)?.epoch).toBe(epochBefore)
    // c tries to come back by dialling: the gaters of a and b refuse it.
    const target = multiaddr(a.mesh.host.addresses()[0] ?? '')
    await expect(c.mesh.host.libp2p.dial(target, { signal: AbortSignal.timeout(5000) }).then((conn) => conn.newStream(ROSTER_SYNC_PROTOCOL))).rejects.toThrow()
    await waitFor(() => !connectedTo(b, c), { timeoutMs: 10_000, what: 'b not connected to c' })
  })
})

describe('reconnection', () => {
  it('reconnects a restarted member to the others without any user action', async () => {
    const [a, b, c] = await threeNodeMesh()
    const b2 = await b.restart()
    await waitFor(() => connectedTo(b2, a) && connectedTo(b2, c) && connectedTo(a, b2), { timeoutMs: 15_000, what: 'b to reconnect' })
    expect(b2.mesh.peerId).toBe(b.mesh.peerId)
  })
})

async function readAnything(stream: import('@libp2p/interface').Stream): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const done = (value: Uint8Array | null) => resolve(value)
    stream.addEventListener('message', (evt) => done((evt as unknown as { data: { subarray(): Uint8Array } }).data.subarray()), { once: true })
    stream.addEventListener('close', () => done(null), { once: true })
    void stream.send(new Uint8Array([1, 2, 3]))
  })
}
