/**
 * A hostile peer on the pairing protocol: wrong proofs, malformed frames and floods are each
 * answered with a JOIN_REJECT naming the code, the invitation survives for the real joiner,
 * and the inviter keeps running.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it, onTestFinished } from 'vitest'
import { generateSeed, keyPairFromSeed } from '../../identity/index.js'
import { createMeshHost, PAIRING_PROTOCOL, type MeshHost } from '../../mesh/index.js'
import { frameStream } from '../../mesh/frame-stream.js'
import { MAX_PAIRING_FRAME, decodePairingMessage, encodePairingMessage } from '../../mesh/pairing-protocol.js'
import { startTestNode, type TestNode } from '../support/mesh-nodes.js'

async function stranger(): Promise<{ host: MeshHost; seed: Uint8Array }> {
  const seed = generateSeed()
  const host = await createMeshHost({ seed }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
  onTestFinished(() => host.stop())
  await host.start()
  return { host, seed }
}

async function exchange(host: MeshHost, inviter: TestNode, frame: Uint8Array) {
  const stream = await host.libp2p.dialProtocol(multiaddr(inviter.mesh.host.addresses()[0] ?? ''), PAIRING_PROTOCOL, {
    signal: AbortSignal.timeout(5000),
  })
  const frames = frameStream(stream, MAX_PAIRING_FRAME)
  await frames.write(frame)
  const reply = decodePairingMessage(await frames.read({ signal: AbortSignal.timeout(5000) }))
  await frames.close()
  return reply
}

function badJoinRequest(seed: Uint8Array, inviteId: string) {
  return encodePairingMessage({
    type: 'join-request',
    inviteId,
    joiner: { publicKey: keyPairFromSeed(seed).publicKey, name: 'mallory', addresses: [] },
    nonce: generateSeed(),
    proof: generateSeed(),
  })
}

describe('pairing against a hostile peer', () => {
  it('answers a wrong proof with PAIRING_PROOF_INVALID and keeps the invitation for the real joiner', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const invitation = a.mesh.invite(60_000)
    const { host, seed } = await stranger()
    const reply = await exchange(host, a, badJoinRequest(seed, invitation.inviteId))
    expect(reply).toMatchObject({ type: 'join-reject', code: 'PAIRING_PROOF_INVALID' })
    expect(a.mesh.roster()?.members()).toHaveLength(1)
    const b = await startTestNode({ name: 'b' })
    await expect(b.mesh.join(invitation.token)).resolves.toMatchObject({ sas: invitation.sas })
  })

  it('answers a malformed frame with PAIRING_FRAME_MALFORMED and stays up', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    a.mesh.invite(60_000)
    const { host } = await stranger()
    const reply = await exchange(host, a, new TextEncoder().encode('\u0001\u0001{"inviteId": 5}'))
    expect(reply).toMatchObject({ type: 'join-reject', code: 'PAIRING_FRAME_MALFORMED' })
    expect(a.mesh.status().member).toBe(true)
  })

  it('answers an unknown invitation id with PAIRING_INVITATION_UNKNOWN', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    a.mesh.invite(60_000)
    const { host, seed } = await stranger()
    const reply = await exchange(host, a, badJoinRequest(seed, '0'.repeat(32)))
    expect(reply).toMatchObject({ type: 'join-reject', code: 'PAIRING_INVITATION_UNKNOWN' })
  })

  it('rate-limits a peer that keeps trying', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const invitation = a.mesh.invite(60_000)
    const { host, seed } = await stranger()
    const codes: string[] = []
    for (let i = 0; i < 7; i++) {
      const reply = await exchange(host, a, badJoinRequest(seed, invitation.inviteId))
      codes.push(reply.type === 'join-reject' ? reply.code : reply.type)
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('PAIRING_PROOF_INVALID'))
    expect(codes.slice(5)).toEqual(['PAIRING_RATE_LIMITED', 'PAIRING_RATE_LIMITED'])
  })
})
