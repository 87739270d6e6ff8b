/**
 * A hostile node against a real two-node mesh, on the roster protocol. It holds the agent key
 * (every member does, and a removed machine keeps it), the keys of a member whose own node is
 * not running (so the gaters let it in), and the keys of a machine that was removed.
 *
 * The attack of issue 9 part 3: a second genesis signed with the agent key, ground until its
 * id sorts before the real one, sent in one roster frame. Before the fix the victim believed
 * the fake founder was the only member and dropped out of its own mesh. Then events signed by
 * the removed machine, made to look concurrent with its removal (their deps leave it out).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as Y from 'yjs'
import { fromHex, generateMeshKey, generateSeed, keyPairFromSeed, toHex } from '../../identity/index.js'
import { createMeshHost, PAIRING_PROTOCOL, ROSTER_SYNC_PROTOCOL, type JoinedMembership, type MeshHost, type Roster } from '../../mesh/index.js'
import { createSystemClock, silentLogger, type Logger } from '../../runtime/index.js'
import { frameStream } from '../../mesh/frame-stream.js'
import { createInviter } from '../../mesh/pairing-inviter.js'
import { createRoster } from '../../mesh/roster.js'
import { decodeRosterEvent, encodeRosterEvent, machinePeerId, type RosterEventBody } from '../../mesh/roster-events.js'
import { createRosterRecords } from '../../mesh/roster-records.js'
import { MAX_ROSTER_FRAME, encodeRosterState } from '../../mesh/roster-sync-protocol.js'
import { selfContainedInserts } from '../../bench/hostile-updates.js'
import { byteStream } from '@libp2p/utils'
import { connectedTo, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

const clock = createSystemClock()
const publicKeyOf = (seed: Uint8Array): Uint8Array => keyPairFromSeed(seed).publicKey
const peerOfSeed = (seed: Uint8Array): string => machinePeerId(publicKeyOf(seed))

/** Keeps the fields of every log line, so a test can ask which codes were logged, never the text. */
function recordingLogger(): Logger & { entries: Array<Record<string, unknown>>; logged(code: string, peerId?: string): boolean } {
  const entries: Array<Record<string, unknown>> = []
  const keep = (fields: object): void => void entries.push({ ...(fields as Record<string, unknown>) })
  return {
    entries,
    debug: keep,
    info: keep,
    warn: keep,
    error: keep,
    logged: (code, peerId) => entries.some((e) => e.code === code && (peerId === undefined || e.peerId === peerId)),
  }
}

async function hostileHost(seed: Uint8Array): Promise<MeshHost> {
  const host = await createMeshHost({ seed }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
  onTestFinished(() => host.stop())
  await host.start()
  return host
}

/** One roster frame, as roster-sync.ts pushes it. */
async function sendRosterFrame(host: MeshHost, victim: TestNode, update: Uint8Array): Promise<void> {
  const stream = await host.libp2p.dialProtocol(multiaddr(victim.mesh.host.addresses()[0] ?? ''), ROSTER_SYNC_PROTOCOL, { signal: AbortSignal.timeout(5000) })
  const frames = frameStream(stream, MAX_ROSTER_FRAME)
  await frames.write(encodeRosterState(update), { signal: AbortSignal.timeout(5000) })
  await frames.close()
}

interface View {
  members: string[]
  witnesses: string[]
  removed: string[]
  epoch: number
}

function view(roster: Roster, removedCandidates: string[]): View {
  return {
    members: roster.members().map((m) => m.name).sort(),
    witnesses: roster.witnesses().map((m) => m.name).sort(),
    removed: removedCandidates.filter((p) => roster.wasRemoved(p)).sort(),
    epoch: roster.latestEpoch(),
  }
}

const eventIds = (roster: Roster): string[] => [...roster.doc.getMap('events').keys()].sort()

/**
 * A and B are real nodes; "mallory" is a member whose keys the hostile node holds; "romeo" was
 * a member and was removed by A. Returns what the hostile node knows.
 */
async function meshWithAHostileMember() {
  const logA = recordingLogger()
  const logB = recordingLogger()
  const a = await startTestNode({ name: 'a', founder: true, logger: logA })
  const b = await startTestNode({ name: 'b', logger: logB })
  await b.mesh.join(a.mesh.invite(60_000).token)
  const roster = a.mesh.roster() as Roster
  const mallory = generateSeed()
  const romeo = generateSeed()
  roster.add(a.seed, { publicKey: publicKeyOf(mallory), name: 'mallory' }, clock.now())
  roster.add(a.seed, { publicKey: publicKeyOf(romeo), name: 'romeo' }, clock.now())
  /** Everything romeo could have known while it was a member. */
  const beforeRemoval = eventIds(roster)
  await a.mesh.remove(peerOfSeed(romeo))
  await waitFor(() => connectedTo(a, b) && connectedTo(b, a) && [a, b].every((n) => n.mesh.roster()?.wasRemoved(peerOfSeed(romeo)) === true && n.mesh.roster()?.isMember(peerOfSeed(mallory)) === true && n.mesh.roster()?.latestEpoch() === 2), {
    timeoutMs: 15_000,
    what: 'a and b connected, both knowing mallory as a member and romeo as removed',
  })
  const agentSeed = (a.persisted.joined as JoinedMembership).agentSeed
  return { a, b, logA, logB, mallory, romeo, agentSeed, meshId: roster.meshId, beforeRemoval }
}

function rosterEvent(seed: Uint8Array, meshId: string, over: Pick<RosterEventBody, 'type' | 'subject' | 'at' | 'deps'>): { id: string; bytes: Uint8Array } {
  return encodeRosterEvent(seed, { v: 1, mesh: meshId, signer: toHex(publicKeyOf(seed)), ...over })
}

describe('a hostile member on the roster protocol', () => {
  it('refuses a ground second genesis in a roster frame: both victims keep their roster, their membership and each other', async () => {
    const { a, b, logA, logB, mallory, romeo, agentSeed, meshId } = await meshWithAHostileMember()
    const victims = [a, b]
    const removedCandidates = [peerOfSeed(romeo), peerOfSeed(mallory), a.mesh.peerId, b.mesh.peerId]
    const before = victims.map((v) => ({ view: view(v.mesh.roster() as Roster, removedCandidates), events: eventIds(v.mesh.roster() as Roster) }))
    expect(before[0]?.view.members).toEqual(['a', 'b', 'mallory'])

    const realGenesis = [...(a.mesh.roster() as Roster).doc.getMap<Uint8Array>('events').values()].map((bytes) => decodeRosterEvent(bytes)).find((e) => e.body.type === 'genesis')
    expect(realGenesis).toBeDefined()
    const usurper = generateSeed()
    const agentHex = toHex(publicKeyOf(agentSeed))
    let fake = encodeRosterEvent(agentSeed, { v: 1, type: 'genesis', mesh: meshId, subject: { publicKey: toHex(publicKeyOf(usurper)), name: 'usurper' }, signer: agentHex, at: 0, deps: [] })
    for (let at = 1; fake.id >= (realGenesis?.id ?? ''); at++) {
      fake = encodeRosterEvent(agentSeed, { v: 1, type: 'genesis', mesh: meshId, subject: { publicKey: toHex(publicKeyOf(usurper)), name: 'usurper' }, signer: agentHex, at, deps: [] })
    }
    expect(fake.id < (realGenesis?.id ?? '')).toBe(true)

    // The frame carries the victim's whole roster, as a member's push does, plus the fake
    // genesis and an address record of mallory's that the victims do not hold yet.
    const doc = new Y.Doc()
    Y.applyUpdate(doc, (b.mesh.roster() as Roster).encodeState())
    doc.getMap('events').set(fake.id, fake.bytes)
    const records = createRosterRecords({ addresses: doc.getMap('addresses'), keys: doc.getMap('keys'), meshId, members: () => new Map(), removed: () => false, peerOf: (hex) => machinePeerId(fromHex(hex)) })
    records.publishAddresses(mallory, ['/ip4/127.0.0.1/tcp/9'], clock.now())
    const host = await hostileHost(mallory)
    for (const victim of victims) await sendRosterFrame(host, victim, Y.encodeStateAsUpdate(doc))
    doc.destroy()

    const logs = [logA, logB]
    await waitFor(
      () => victims.every((v, i) => logs[i]?.logged('ROSTER_GENESIS_FOREIGN', peerOfSeed(mallory)) === true || view(v.mesh.roster() as Roster, removedCandidates).members.join() !== before[i]?.view.members.join()),
      { timeoutMs: 10_000, what: 'each victim to refuse the frame or to act on it' },
    )
    for (const [i, victim] of victims.entries()) {
      const roster = victim.mesh.roster() as Roster
      expect(view(roster, removedCandidates), victim.name).toEqual(before[i]?.view)
      expect(eventIds(roster), victim.name).toEqual(before[i]?.events)
      expect(roster.addressesOf(peerOfSeed(mallory)), victim.name).toEqual([])
      expect(victim.mesh.status(), victim.name).toMatchObject({ member: true, removed: false, members: 3 })
      expect(logs[i]?.logged('ROSTER_GENESIS_FOREIGN', peerOfSeed(mallory)), victim.name).toBe(true)
    }
    expect(connectedTo(a, b) && connectedTo(b, a)).toBe(true)
    // Still a working mesh: a change made on A reaches B.
    const late = generateSeed()
    ;(a.mesh.roster() as Roster).add(a.seed, { publicKey: publicKeyOf(late), name: 'late' }, clock.now())
    await waitFor(() => b.mesh.roster()?.isMember(peerOfSeed(late)), { timeoutMs: 10_000, what: 'b to learn of a new member from a' })
  })

  it('lets nothing the removed machine signed count, whether its removal is in the event\'s past or not', async () => {
    const { a, b, logA, logB, mallory, romeo, meshId, beforeRemoval } = await meshWithAHostileMember()
    const victims = [a, b]
    const removedCandidates = [peerOfSeed(romeo), peerOfSeed(mallory), a.mesh.peerId, b.mesh.peerId]
    const before = victims.map((v) => view(v.mesh.roster() as Roster, removedCandidates))
    const afterRemoval = eventIds(a.mesh.roster() as Roster)
    const now = clock.now()
    const newcomer = { publicKey: toHex(publicKeyOf(generateSeed())), name: 'newcomer' }
    const forged = [
      // Made to look concurrent with its removal: the deps leave the removal out.
      rosterEvent(romeo, meshId, { type: 'add', subject: newcomer, at: now, deps: beforeRemoval }),
      rosterEvent(romeo, meshId, { type: 'witness', subject: { publicKey: toHex(publicKeyOf(generateSeed())), name: 'watcher' }, at: now, deps: beforeRemoval }),
      rosterEvent(romeo, meshId, { type: 'remove', subject: { publicKey: toHex(publicKeyOf(b.seed)), name: 'b' }, at: now, deps: beforeRemoval }),
      rosterEvent(romeo, meshId, { type: 'remove', subject: { publicKey: toHex(publicKeyOf(mallory)), name: 'mallory' }, at: now, deps: beforeRemoval }),
      // Signed after it learnt of its removal.
      rosterEvent(romeo, meshId, { type: 'add', subject: newcomer, at: now, deps: afterRemoval }),
      rosterEvent(romeo, meshId, { type: 'remove', subject: { publicKey: toHex(publicKeyOf(b.seed)), name: 'b' }, at: now, deps: afterRemoval }),
    ]
    const doc = new Y.Doc()
    for (const event of forged) doc.getMap('events').set(event.id, event.bytes)
    // Its own address record, and a mesh key epoch it made up, sealed to everyone and itself.
    const everyone = new Map([a.seed, b.seed, mallory, romeo].map((s) => [toHex(publicKeyOf(s)), true]))
    const records = createRosterRecords({ addresses: doc.getMap('addresses'), keys: doc.getMap('keys'), meshId, members: () => everyone, removed: () => false, peerOf: (hex) => machinePeerId(fromHex(hex)) })
    records.publishAddresses(romeo, ['/ip4/127.0.0.1/tcp/9'], now)
    records.publishMeshKey(romeo, generateMeshKey(3), now)
    const host = await hostileHost(mallory)
    await sendRosterFrame(host, b, Y.encodeStateAsUpdate(doc))
    doc.destroy()

    const forgedIds = forged.map((e) => e.id).sort()
    // B refuses the events (they can count for nothing anywhere, so no copy needs them) and so
    // never passes them on: neither victim holds one, and neither acts on them.
    await waitFor(() => logB.logged('ROSTER_SIGNER_REMOVED', peerOfSeed(mallory)), { timeoutMs: 10_000, what: 'B refusing the forged events' })
    for (const [i, victim] of victims.entries()) {
      const roster = victim.mesh.roster() as Roster
      expect(forgedIds.filter((id) => roster.doc.getMap('events').has(id)), victim.name).toEqual([])
      expect(view(roster, removedCandidates), victim.name).toEqual(before[i])
      expect(roster.isParticipant(machinePeerId(fromHex(newcomer.publicKey))), victim.name).toBe(false)
      expect(roster.addressesOf(peerOfSeed(romeo)), victim.name).toEqual([])
      expect(victim.mesh.meshKeys().map((k) => k.epoch), victim.name).toEqual([1, 2])
      expect(victim.mesh.status(), victim.name).toMatchObject({ member: true, removed: false, members: 3, witnesses: 0 })
    }
    expect(connectedTo(a, b) && connectedTo(b, a)).toBe(true)
  })

  it('cannot grow the roster with events that count for nothing: it stays small and a new machine still pairs', async () => {
    const { a, b, logB, mallory, meshId } = await meshWithAHostileMember()
    const deps = eventIds(b.mesh.roster() as Roster)
    const sizeBefore = (b.mesh.roster() as Roster).encodeState().length
    const host = await hostileHost(mallory)
    // Two frames of 600 events each, every one validly signed by a machine that never was a
    // member: kept, they would take the roster past the 150 KiB a welcome may carry.
    let bytes = 0
    for (let frame = 0; frame < 2; frame++) {
      const doc = new Y.Doc()
      for (let i = 0; i < 600; i++) {
        const stranger = generateSeed()
        const event = rosterEvent(stranger, meshId, { type: 'add', subject: { publicKey: toHex(publicKeyOf(generateSeed())), name: `s${frame}-${i}` }, at: clock.now(), deps })
        doc.getMap('events').set(event.id, event.bytes)
      }
      const update = Y.encodeStateAsUpdate(doc)
      bytes += update.length
      doc.destroy()
      await sendRosterFrame(host, b, update)
    }
    expect(bytes).toBeGreaterThan(200 * 1024)
    await waitFor(() => logB.entries.filter((e) => e.code === 'ROSTER_NOT_MEMBER' && e.peerId === peerOfSeed(mallory)).length === 2, { timeoutMs: 30_000, what: 'B refusing both frames' })
    expect((b.mesh.roster() as Roster).encodeState().length).toBeLessThan(sizeBefore + 1024)
    // A machine invited by B still gets a welcome, and both know it.
    const newcomer = await startTestNode({ name: 'newcomer' })
    await newcomer.mesh.join(b.mesh.invite(60_000).token)
    await waitFor(() => [a, b].every((n) => n.mesh.roster()?.isMember(newcomer.mesh.peerId) === true), { timeoutMs: 15_000, what: 'a and b to know the newcomer' })
    expect(newcomer.mesh.status()).toMatchObject({ member: true, members: 4 })
  })

  it('cannot even connect with the removed machine\'s own keys', async () => {
    const { a, romeo } = await meshWithAHostileMember()
    const host = await hostileHost(romeo)
    await expect(
      host.libp2p.dialProtocol(multiaddr(a.mesh.host.addresses()[0] ?? ''), ROSTER_SYNC_PROTOCOL, { signal: AbortSignal.timeout(5000) }),
    ).rejects.toThrow()
  })

  it('refuses a welcome whose roster carries a second genesis, and joins nothing', async () => {
    const agentSeed = generateSeed()
    const inviterSeed = generateSeed()
    const roster = createRoster({ agentPublicKey: publicKeyOf(agentSeed) })
    onTestFinished(() => roster.destroy())
    roster.found(agentSeed, { publicKey: publicKeyOf(inviterSeed), name: 'inviter' }, clock.now())
    const fake = encodeRosterEvent(agentSeed, { v: 1, type: 'genesis', mesh: roster.meshId, subject: { publicKey: toHex(publicKeyOf(generateSeed())), name: 'usurper' }, signer: toHex(publicKeyOf(agentSeed)), at: 1, deps: [] })
    const doctored = (): Uint8Array => {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, roster.encodeState())
      doc.getMap('events').set(fake.id, fake.bytes)
      const update = Y.encodeStateAsUpdate(doc)
      doc.destroy()
      return update
    }
    const host = await hostileHost(inviterSeed)
    const inviter = createInviter({
      clock,
      logger: silentLogger,
      machineSeed: inviterSeed,
      membership: () => ({ roster: { ...roster, encodeState: doctored }, agentName: 'kira', agentSeed, meshKeys: () => [generateMeshKey(1)] }),
      addresses: () => host.addresses(),
    })
    await host.libp2p.handle(PAIRING_PROTOCOL, (stream, connection) => inviter.handle(stream, connection))
    const b = await startTestNode({ name: 'b' })
    await expect(b.mesh.join(inviter.invite(60_000).token)).rejects.toMatchObject({ code: 'PAIRING_WELCOME_INVALID' })
    expect(b.persisted.joined).toBeNull()
    expect(b.mesh.status()).toMatchObject({ member: false, meshId: null })
    expect(b.store.updates).toEqual([])
  })
})

/** The codes `log` refused `peerId`'s roster frames with (our own pushes to it that failed left out). */
const refusedCodes = (log: ReturnType<typeof recordingLogger>, peerId: string): unknown[] =>
  log.entries.filter((e) => e.peerId === peerId && typeof e.code === 'string' && e.code.startsWith('ROSTER_') && e.code !== 'ROSTER_PUSH_FAILED').map((e) => e.code)

describe('roster frames the hostile fuzzer found refused badly (tests/hostile/fuzz.test.ts)', () => {
  it('refuses a frame of 3,000 concurrent inserts in one key with ROSTER_UPDATE_TOO_COSTLY, before applying any of it', async () => {
    const { a, b, logA, mallory } = await meshWithAHostileMember()
    const before = eventIds(a.mesh.roster() as Roster)
    // 75 KB that cost 3,000^2 steps on an empty document: seconds of a blocked event loop before.
    const host = await hostileHost(mallory)
    await sendRosterFrame(host, a, selfContainedInserts('events', 'x', 3000))
    await waitFor(() => refusedCodes(logA, peerOfSeed(mallory)).length > 0, { timeoutMs: 30_000, what: 'a to refuse the frame' })
    expect(refusedCodes(logA, peerOfSeed(mallory))).toEqual(['ROSTER_UPDATE_TOO_COSTLY'])
    expect(eventIds(a.mesh.roster() as Roster)).toEqual(before)
    expect(connectedTo(a, b)).toBe(true)
  })

  it('refuses a frame over MAX_ROSTER_FRAME with ROSTER_FRAME_MALFORMED, not a code of libp2p\'s', async () => {
    const { a, logA, mallory } = await meshWithAHostileMember()
    const host = await hostileHost(mallory)
    const stream = await host.libp2p.dialProtocol(multiaddr(a.mesh.host.addresses()[0] ?? ''), ROSTER_SYNC_PROTOCOL, { signal: AbortSignal.timeout(5000) })
    // A length prefix of MAX_ROSTER_FRAME + 1 (a varint), then some of the frame.
    const prefix: number[] = []
    for (let n = MAX_ROSTER_FRAME + 1; n > 0; n = Math.floor(n / 128)) prefix.push((n % 128) | (n >= 128 ? 0x80 : 0))
    await byteStream(stream).write(Uint8Array.from([...prefix, 1, 1, 0, 0]), { signal: AbortSignal.timeout(5000) })
    await waitFor(() => logA.entries.some((e) => e.peerId === peerOfSeed(mallory) && e.code !== undefined && e.code !== 'ROSTER_PUSH_FAILED'), { timeoutMs: 10_000, what: 'a to refuse the frame' })
    expect(logA.entries.filter((e) => e.peerId === peerOfSeed(mallory) && e.code !== undefined && e.code !== 'ROSTER_PUSH_FAILED').map((e) => e.code)).toEqual(['ROSTER_FRAME_MALFORMED'])
  })

  it('keeps no address record of a machine that is neither member nor witness, and logs ROSTER_NOT_MEMBER', async () => {
    const { a, b, logB, mallory, meshId } = await meshWithAHostileMember()
    const strangers = Array.from({ length: 20 }, () => generateSeed())
    const doc = new Y.Doc()
    Y.applyUpdate(doc, (b.mesh.roster() as Roster).encodeState())
    const records = createRosterRecords({ addresses: doc.getMap('addresses'), keys: doc.getMap('keys'), meshId, members: () => new Map(), removed: () => false, peerOf: (hex) => machinePeerId(fromHex(hex)) })
    for (const s of strangers) records.publishAddresses(s, ['/ip4/10.0.0.1/tcp/1'], clock.now())
    const host = await hostileHost(mallory)
    await sendRosterFrame(host, b, Y.encodeStateAsUpdate(doc))
    doc.destroy()
    await waitFor(() => logB.logged('ROSTER_NOT_MEMBER', peerOfSeed(mallory)), { timeoutMs: 10_000, what: 'b to refuse the records' })
    for (const victim of [a, b]) {
      const held = [...(victim.mesh.roster() as Roster).doc.getMap('addresses').keys()]
      expect(strangers.map(peerOfSeed).filter((p) => held.includes(p)), victim.name).toEqual([])
    }
  })
})
