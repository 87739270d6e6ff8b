/**
 * Strangers that hold handshakes and connections (issue 9, part 5): silent TCP sockets, a few
 * hundred stranger identities, and late uses of closed invitations, against real nodes on
 * loopback. Members and the witness must always get in; strangers only within their quota, only
 * while an invitation is open, and after it closed only long enough to hear why they are refused.
 *
 * Strangers dial from their own loopback addresses (127.0.0.2 and up, which Linux routes to
 * the loopback interface) so that the per-IP and the total quotas can both be reached; the
 * members dial from 127.0.0.1.
 */
import type { Socket } from 'node:net'
import type { Connection } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { generateSeed, keyPairFromSeed } from '../../identity/index.js'
import { PAIRING_PROTOCOL } from '../../mesh/index.js'
import { createManualClock, createSystemClock, type ManualClock } from '../../runtime/index.js'
import { frameStream } from '../../mesh/frame-stream.js'
import { MAX_PAIRING_FRAME, decodePairingMessage, encodePairingMessage, type PairingMessage } from '../../mesh/pairing-protocol.js'
import { connectedTo, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { addressOf, closed, freshDial, portOf as portOfAddress, rawSockets, stranger, strangerFlood } from '../support/strangers.js'
import { waitFor } from '../support/wait-for.js'

const portOf = (node: TestNode): number => portOfAddress(node.mesh.host.addresses()[0] ?? '')

/** The connections `node` holds with peers outside its roster. */
function strangersOn(node: TestNode): Connection[] {
  const roster = node.mesh.roster()
  return node.mesh.host.libp2p.getConnections().filter((c) => c.status === 'open' && roster?.isParticipant(c.remotePeer.toString()) !== true)
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return counts
}

function joinRequest(seed: Uint8Array, inviteId: string): Uint8Array {
  return encodePairingMessage({
    type: 'join-request',
    inviteId,
    joiner: { publicKey: keyPairFromSeed(seed).publicKey, name: 'late', addresses: [] },
    nonce: generateSeed(),
    proof: generateSeed(),
  })
}

/** One pairing exchange on `connection`: a join request for `inviteId`, and the inviter's answer. */
async function latePairing(connection: Connection, inviteId: string): Promise<PairingMessage> {
  const stream = await connection.newStream(PAIRING_PROTOCOL, { signal: AbortSignal.timeout(5000) })
  const frames = frameStream(stream, MAX_PAIRING_FRAME)
  await frames.write(joinRequest(generateSeed(), inviteId))
  const reply = decodePairingMessage(await frames.read({ signal: AbortSignal.timeout(5000) }))
  await frames.close()
  return reply
}

/**
 * A founder whose invitation B has used, and a stranger connected to it to use it late. The
 * refusal lifetime is far beyond the test: only the hang-up after the answer can end the connection.
 */
async function lateStrangerOfAUsedInvitation(): Promise<{ invitation: ReturnType<TestNode['mesh']['invite']>; connection: Connection }> {
  const a = await startTestNode({ name: 'a', founder: true, options: { admission: { refusalLifetimeMs: 10 * 60_000 } } })
  const b = await startTestNode({ name: 'b' })
  const invitation = a.mesh.invite(15 * 60_000)
  await b.mesh.join(invitation.token)
  const late = await stranger('127.0.0.2')
  const connection = await late.dial(addressOf(a), { signal: AbortSignal.timeout(10_000) })
  return { invitation, connection }
}

/** A founder running on a manual clock set to the real time, so that invitations it makes read as valid elsewhere. */
async function manualFounder(options: Parameters<typeof startTestNode>[0]['options'] = {}): Promise<{ a: TestNode; clock: ManualClock }> {
  const clock = createManualClock(createSystemClock().now())
  const a = await startTestNode({ name: 'a', founder: true, clock, options })
  return { a, clock }
}

describe('strangers holding handshakes', () => {
  it('lets every fresh dial of a member through while 100 TCP sockets sit silent in the handshake', async () => {
    const a = await startTestNode({ name: 'a', founder: true })
    const b = await startTestNode({ name: 'b' })
    await b.mesh.join(a.mesh.invite(60_000).token)
    const silent = await rawSockets(portOf(a), 100)
    const dials: boolean[] = []
    for (let i = 0; i < 6; i++) dials.push(await freshDial(b, addressOf(a)))
    expect(dials).toEqual(Array(6).fill(true))
    // The attack was still on while the member dialled: silent sockets were still held.
    expect(silent.some((s) => !closed(s))).toBe(true)
  })

  it('drops a silent handshake and a stalled one once the handshake timeout passes', async () => {
    const { a, clock } = await manualFounder({ admission: { handshakeTimeoutMs: 3000 } })
    const [silent] = await rawSockets(portOf(a), 1)
    const [stalled] = await rawSockets(portOf(a), 1, { say: '\u0013/multistream/1.0.0\n' })
    // Time passes on the node's clock (again on every look, in case the node saw a socket late).
    // libp2p's own upgrade timeout, on the real clock, is twice as long: it cannot be what drops them.
    await waitFor(
      () => {
        clock.advance(3000)
        return closed(silent as Socket) && closed(stalled as Socket)
      },
      { timeoutMs: 5000, intervalMs: 100, what: 'both sockets dropped by the node' },
    )
  })
})

describe('strangers holding connections', () => {
  it('keeps members and the witness getting in while 300 strangers dial during an open invitation, and refuses strangers beyond their quota', async () => {
    const admission = { strangersPerIp: 4, strangersTotal: 16, strangerLifetimeMs: 10 * 60_000 }
    const a = await startTestNode({ name: 'a', founder: true, options: { admission } })
    const b = await startTestNode({ name: 'b' })
    await b.mesh.join(a.mesh.invite(60_000).token)
    const w = await startTestNode({ name: 'w', witness: true })
    await w.mesh.join(a.mesh.invite(60_000, 'witness').token)
    a.mesh.invite(15 * 60_000)

    // Ten strangers from each of 30 addresses. A dial may resolve before the node has refused it
    // (the muxer is chosen optimistically), so what counts is what is still open once it settles.
    const { held } = await strangerFlood(addressOf(a), 300, 10)
    for (const member of [b, w]) {
      const dials: boolean[] = []
      for (let i = 0; i < 3; i++) dials.push(await freshDial(member, addressOf(a)))
      expect(dials, member.name).toEqual([true, true, true])
    }
    await waitFor(() => held.filter((h) => h.connection.status === 'open').length === 16, { timeoutMs: 15_000, what: 'the strangers beyond the quota refused' })
    const admitted = strangersOn(a)
    expect(admitted).toHaveLength(16)
    expect(Math.max(...countBy(admitted.map((c) => c.remoteAddr.getComponents()[0]?.value ?? '')).values())).toBe(4)
  })

  it('after the invitation was used, hangs up on every stranger instead of letting them hold the door', async () => {
    const admission = { strangersPerIp: 4, strangersTotal: 16, refusalLifetimeMs: 1000 }
    const a = await startTestNode({ name: 'a', founder: true, options: { admission } })
    const b = await startTestNode({ name: 'b' })
    const invitation = a.mesh.invite(15 * 60_000)
    await b.mesh.join(invitation.token)
    await waitFor(() => connectedTo(a, b), { timeoutMs: 10_000, what: 'a and b connected' })

    const { held } = await strangerFlood(addressOf(a), 120, 10)
    expect(strangersOn(a).length).toBeLessThanOrEqual(16)
    // Those let in hear nothing but refusals, and not for long.
    await waitFor(() => held.every((h) => h.connection.status !== 'open'), { timeoutMs: 15_000, what: 'every stranger hung up on' })
    expect(connectedTo(a, b)).toBe(true)
    expect(await freshDial(b, addressOf(a))).toBe(true)
  })

  it('answers a late use of a used invitation with PAIRING_INVITATION_USED and then hangs up', async () => {
    const { invitation, connection } = await lateStrangerOfAUsedInvitation()
    expect(await latePairing(connection, invitation.inviteId)).toMatchObject({ type: 'join-reject', code: 'PAIRING_INVITATION_USED' })
    await waitFor(() => connection.status !== 'open', { timeoutMs: 10_000, what: 'the inviter hanging up after its answer' })
    // A real late joiner reads the same refusal.
    const c = await startTestNode({ name: 'c' })
    await expect(c.mesh.join(invitation.token)).rejects.toMatchObject({ code: 'PAIRING_REFUSED', remoteCode: 'PAIRING_INVITATION_USED' })
  })

  it('keeps its answer to a late use until the joiner has read it, however late it reads', async () => {
    const { invitation, connection } = await lateStrangerOfAUsedInvitation()
    const stream = await connection.newStream(PAIRING_PROTOCOL, { signal: AbortSignal.timeout(5000) })
    const frames = frameStream(stream, MAX_PAIRING_FRAME)
    await frames.write(joinRequest(generateSeed(), invitation.inviteId))
    // A slow joiner (a loaded machine): the hang-up waits for it to read and close.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(connection.status).toBe('open')
    expect(decodePairingMessage(await frames.read({ signal: AbortSignal.timeout(5000) }))).toMatchObject({ type: 'join-reject', code: 'PAIRING_INVITATION_USED' })
    await frames.close()
    await waitFor(() => connection.status !== 'open', { timeoutMs: 10_000, what: 'the inviter hanging up after the joiner read its answer' })
  })

  it('answers a late use of an expired invitation with PAIRING_INVITATION_EXPIRED, hangs up, and admits no stranger once it is forgotten', async () => {
    const { a, clock } = await manualFounder({ pairing: { rememberMs: 60 * 60_000 }, admission: { refusalLifetimeMs: 10 * 60_000 } })
    const invitation = a.mesh.invite(60_000)
    clock.advance(61_000)
    const late = await stranger('127.0.0.2')
    const connection = await late.dial(addressOf(a), { signal: AbortSignal.timeout(10_000) })
    expect(await latePairing(connection, invitation.inviteId)).toMatchObject({ type: 'join-reject', code: 'PAIRING_INVITATION_EXPIRED' })
    await waitFor(() => connection.status !== 'open', { timeoutMs: 10_000, what: 'the inviter hanging up after its answer' })
    clock.advance(60 * 60_000)
    const again = await stranger('127.0.0.3')
    const outcome = await again
      .dial(addressOf(a), { signal: AbortSignal.timeout(10_000) })
      .then((refused) => latePairing(refused, invitation.inviteId))
      .then(
        () => 'answered',
        () => 'refused',
      )
    expect(outcome).toBe('refused')
  })

  it('drops a stranger that holds its connection silent, while an invitation is open and after it closed', async () => {
    const { a, clock } = await manualFounder({ admission: { strangerLifetimeMs: 20_000, refusalLifetimeMs: 5000 } })
    const invitation = a.mesh.invite(60_000)
    const during = await (await stranger('127.0.0.2')).dial(addressOf(a), { signal: AbortSignal.timeout(10_000) })
    await waitFor(() => strangersOn(a).length === 1, { timeoutMs: 10_000, what: 'the stranger admitted' })
    clock.advance(20_000)
    await waitFor(() => during.status !== 'open', { timeoutMs: 10_000, what: 'the silent stranger dropped while the invitation is open' })

    clock.set(invitation.expiresAt + 1)
    const after = await (await stranger('127.0.0.3')).dial(addressOf(a), { signal: AbortSignal.timeout(10_000) })
    await waitFor(() => strangersOn(a).length === 1, { timeoutMs: 10_000, what: 'the stranger admitted' })
    clock.advance(5000)
    await waitFor(() => after.status !== 'open', { timeoutMs: 10_000, what: 'the silent stranger dropped after the invitation closed' })
  })
})
