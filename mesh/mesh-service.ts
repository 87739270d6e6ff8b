/**
 * The mesh of one machine: wires the libp2p host, the roster, the gater and protocol guard,
 * pairing, roster sync, reconnection, peer health and the election. A machine that has not
 * joined a mesh yet runs the same host and becomes a member in place when `join` succeeds.
 *
 * A witness (options.role 'witness') runs the same parts but joins with a witness invitation,
 * holds only the agent's public key, never leads, and is reached only by the roster, identify,
 * ping and election protocols: the agent's documents stay between members.
 */
import type { Connection, PeerId, PeerInfo } from '@libp2p/interface'
import { keyPairFromSeed, toHex, type MeshKey } from '../identity/index.js'
import { MeshNotMemberError, MeshPeerNotConnectedError, MeshRoleMismatchError, PairingAlreadyMemberError } from './errors.js'
import { createElection, type Voter } from './election.js'
import { ELECTION_PROTOCOL } from './election-protocol.js'
import { createElectionTransport } from './election-transport.js'
import { createConnectionGater, type GaterPolicy } from './gater.js'
import { createMeshHost } from './host.js'
import { joinSummary, membershipFromWelcome, openMeshState, type MeshState } from './mesh-membership.js'
import { leaveMesh, removeMember } from './mesh-removal.js'
import type { Mesh, MeshDeps, MeshMembership, MeshOptions } from './mesh-types.js'
import { silenceConnection } from './link-fault.js'
import { createInviter, type Membership } from './pairing-inviter.js'
import { joinMesh } from './pairing-joiner.js'
import { PAIRING_PROTOCOL } from './pairing-protocol.js'
import { createPeerHealth } from './peer-health.js'
import { guardBuiltInProtocols, hangUpAfterAnswer, membersOnly } from './protocol-guard.js'
import { createReconnector } from './reconnect.js'
import { createRefusalLog } from './refusal-log.js'
import type { Roster } from './roster.js'
import { createRosterChangeHandler } from './roster-change.js'
import { machinePeerId } from './roster-events.js'
import { createRosterSync } from './roster-sync.js'
import { ROSTER_SYNC_PROTOCOL } from './roster-sync-protocol.js'
import { rosterVoters } from './voters.js'

export type { JoinSummary, JoinedMembership, Mesh, MeshDeps, MeshMembership, MeshOptions, MeshStatus, WitnessMembership } from './mesh-types.js'

export async function createMesh(deps: MeshDeps, options: MeshOptions): Promise<Mesh> {
  const { clock, logger } = deps
  const machine = keyPairFromSeed(deps.machineSeed)
  const selfPeerId = machinePeerId(machine.publicKey)
  const role = options.role ?? 'member'
  let state: MeshState | null = null
  let joiningPeer: string | null = null
  let unsubscribe: (() => void) | null = null
  let leaving = false
  let blocked = new Set<string>()
  /** Connections the fault hook silenced, with what ends their silence. */
  const silenced = new Map<Connection, () => void>()
  /** The cut is silent: the reconnector keeps dialling the cut-off peers (and fails, as across a dead link). */
  let silentCut = false
  const listeners = {
    'member:connect': new Set<(e: { peerId: string }) => void>(),
    'member:disconnect': new Set<(e: { peerId: string }) => void>(),
    'keys:change': new Set<(e: { keys: MeshKey[] }) => void>(),
  }
  const emit = (event: keyof typeof listeners, payload: unknown): void => {
    for (const fn of listeners[event]) {
      try {
        ;(fn as (e: unknown) => void)(payload)
      } catch (err) {
        logger.error({ code: 'MESH_LISTENER_FAILED', event, err }, 'a mesh event listener threw')
      }
    }
  }

  const policy: GaterPolicy = {
    isMember: (peerId) => state?.roster.isParticipant(peerId) ?? false,
    wasRemoved: (peerId) => state?.roster.wasRemoved(peerId) ?? false,
    isCutOff: (peerId) => blocked.has(peerId),
    // Strangers come in to pair only while an invitation is open; while a used or expired one
    // is remembered, only to hear why they are refused (and are hung up on once answered).
    acceptsPairing: () => state !== null && inviter.pending().length > 0,
    remembersPairing: () => state !== null && inviter.acceptsPairing(),
    isJoining: (peerId) => peerId === joiningPeer,
  }
  /** `inRoster` of our roster, while we are in the mesh and the peer is not cut off. */
  const admitted =
    (inRoster: (roster: Roster, peerId: string) => boolean) =>
    (peerId: string): boolean =>
      state !== null && !blocked.has(peerId) && !state.roster.wasRemoved(selfPeerId) && inRoster(state.roster, peerId)
  /** A member: may reach the agent's documents and every protocol. */
  const isMember = admitted((roster, peerId) => roster.isMember(peerId))
  /** A member or a witness: may reach the roster, identify, ping and election protocols. */
  const isParticipant = admitted((roster, peerId) => roster.isParticipant(peerId))
  /** The inviter's view: only a member holds what a welcome carries. */
  const inviterMembership = (): Membership | null => {
    if (state === null || state.agentSeed === null) return null
    const { roster, agentName, agentSeed } = state
    return { roster, agentName, agentSeed, meshKeys: () => state?.keys ?? [] }
  }
  const host = await createMeshHost(
    { seed: deps.machineSeed, connectionGater: createConnectionGater({ policy: () => policy, clock, logger }, options.admission) },
    {
      listen: options.listen,
      mdns: options.mdns === true,
      ...(options.agentVersion === undefined ? {} : { agentVersion: options.agentVersion }),
      ...(options.admission === undefined ? {} : { admission: options.admission }),
    },
  )
  const libp2p = host.libp2p

  const inviter = createInviter(
    {
      clock,
      logger,
      machineSeed: deps.machineSeed,
      membership: inviterMembership,
      addresses: () => host.addresses(),
      ...(deps.invitationStore === undefined ? {} : { store: deps.invitationStore }),
    },
    options.pairing,
  )
  const sync = createRosterSync({ libp2p, roster: () => state?.roster ?? null, logger, clock })
  const health = createPeerHealth(
    // Every participant of the roster is watched, one the fault hook cut off too (a cut link is what it must notice).
    { clock, libp2p, logger, isMember: policy.isMember },
    { intervalMs: options.pingIntervalMs ?? 5000, ...(options.failureDetector === undefined ? {} : { detector: options.failureDetector }) },
  )
  const reconnector = createReconnector(
    {
      clock,
      libp2p,
      logger,
      ...(deps.random === undefined ? {} : { random: deps.random }),
      targets: () =>
        state === null || state.roster.wasRemoved(selfPeerId)
          ? []
          : state.roster
              .participants()
              .filter((m) => m.peerId !== selfPeerId && (silentCut || !blocked.has(m.peerId)))
              .map((m) => ({ peerId: m.peerId, addresses: state?.roster.addressesOf(m.peerId) ?? [] })),
    },
    options.reconnect,
  )

  const priorities = new Map<string, number>()
  const ownPriority = options.priority ?? 0
  const voters = (): Voter[] => {
    if (state === null || state.roster.wasRemoved(selfPeerId)) return [{ peerId: selfPeerId, priority: ownPriority, canLead: false }]
    return rosterVoters(state.roster, (peerId) => (peerId === selfPeerId ? ownPriority : (priorities.get(peerId) ?? 0)))
  }
  // Before it is a member a machine must never lead: its only voter cannot lead. A witness is
  // never a voter that can lead (rosterVoters), so it never stands.
  const electionRefusals = createRefusalLog({ clock, logger })
  const election = createElection(
    {
      clock,
      random: deps.random ?? Math.random,
      self: selfPeerId,
      logger,
      voters,
      send: (to, message) => transport.send(to, message),
      store: deps.termStore,
      refusals: electionRefusals,
    },
    options.election,
  )
  const transport = createElectionTransport({
    clock,
    logger,
    refusals: electionRefusals,
    openStream: (peerId, protocol, streamOptions) => openParticipantStream(peerId, protocol, streamOptions),
    deliver: (from, message) => {
      if (message.type === 'request-vote' || message.type === 'pre-vote' || message.type === 'heartbeat-reply') priorities.set(from, message.priority)
      // Heartbeats and their replies are the failure detector's sign of life between leader and followers.
      health.seen(from)
      election.receive(from, message)
    },
  })

  /** Connected peers that pass `admits`, each once. */
  const connected = (admits: (peerId: string) => boolean): string[] =>
    [...new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()))].filter((p) => p !== selfPeerId && admits(p))
  const connectedMembers = (): string[] => connected(isMember)
  const connectedParticipants = (): string[] => connected(isParticipant)

  const pushAll = (): void => {
    for (const peerId of connectedParticipants()) void sync.push(peerId)
  }

  const rosterChange = createRosterChangeHandler(
    {
      clock,
      logger,
      libp2p,
      selfPeerId,
      machineSeed: deps.machineSeed,
      state: () => state,
      learnKeys: (keys) => {
        if (state === null) return
        state.keys = keys
        deps.persistMeshKeys(state.keys)
        emit('keys:change', { keys: [...state.keys] })
      },
      leaving: () => leaving,
      push: (peerId) => sync.push(peerId),
      pushAll,
      kick: () => reconnector.kick(),
    },
    options.rosterPushDelayMs === undefined ? {} : { pushDelayMs: options.rosterPushDelayMs },
  )
  const onRosterChange = (): void => rosterChange.onChange()
  const membershipDeps = { clock, logger, machineSeed: deps.machineSeed, machineName: deps.machineName, rosterStore: deps.rosterStore }
  const becomeMember = (joined: MeshMembership, initial?: Uint8Array): void => {
    state = openMeshState(membershipDeps, joined, initial)
    unsubscribe = state.roster.on('roster:change', onRosterChange)
  }

  const onConnectionOpen = (event: CustomEvent<Connection>): void => {
    const peerId = event.detail.remotePeer.toString()
    health.seen(peerId)
    reconnector.seen(peerId)
    if (isParticipant(peerId)) void sync.push(peerId)
    if (isMember(peerId)) emit('member:connect', { peerId })
  }
  const onPeerDisconnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    transport.drop(peerId)
    health.gone(peerId)
    emit('member:disconnect', { peerId })
    // A member is dialled again at once, then on the reconnector's short schedule.
    if (isParticipant(peerId)) reconnector.lost(peerId)
  }

  /** A throw in an EventTarget listener would be an uncaught exception: log it with its code instead. */
  const guardListener =
    <E>(name: string, fn: (event: E) => void) =>
    (event: E): void => {
      try {
        fn(event)
      } catch (err) {
        logger.error({ code: (err as { code?: string } | null)?.code ?? 'MESH_LISTENER_FAILED', event: name, err }, 'a libp2p event listener threw')
      }
    }

  const onDiscovery = (event: CustomEvent<PeerInfo>): void => {
    const peerId = event.detail.id.toString()
    if (!isParticipant(peerId) || event.detail.multiaddrs.length === 0) return
    if (libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId)) return
    // Dialled now at the addresses it announces, whatever backoff the reconnector keeps for it.
    libp2p.dial(event.detail.multiaddrs, { signal: clock.timeoutSignal(5000) }).catch((err: Error) => {
      logger.debug({ code: 'MESH_DIAL_FAILED', peerId, err: err.message }, 'dial to a discovered member failed')
    })
  }

  const listening = {
    open: guardListener('connection:open', onConnectionOpen),
    discovery: guardListener('peer:discovery', onDiscovery),
    disconnect: guardListener('peer:disconnect', onPeerDisconnect),
  }

  if (deps.membership !== null) {
    if ((deps.membership.role === 'witness') !== (role === 'witness')) {
      throw new MeshRoleMismatchError(role, deps.membership.role ?? 'member')
    }
    becomeMember(deps.membership)
  }

  const publishOwnAddresses = (): void => {
    if (state === null || !state.roster.isParticipant(selfPeerId)) return
    const addresses = host.addresses()
    const current = state.roster.addressesOf(selfPeerId)
    if (addresses.length > 0 && addresses.join('\n') !== current.join('\n')) state.roster.publishAddresses(deps.machineSeed, addresses, clock.now())
  }

  const openStreamIf = (admitted: (peerId: string) => boolean) => async (peerId: string, protocol: string, streamOptions?: { signal?: AbortSignal }) => {
    if (!admitted(peerId)) throw new MeshNotMemberError(`${peerId} is not a member of this mesh`)
    const connection = libp2p.getConnections().find((c) => c.remotePeer.toString() === peerId && c.status === 'open')
    if (connection === undefined) throw new MeshPeerNotConnectedError(peerId)
    return connection.newStream(protocol, streamOptions?.signal === undefined ? {} : { signal: streamOptions.signal })
  }
  const openMemberStream = openStreamIf(isMember)
  const openParticipantStream = openStreamIf(isParticipant)

  const refuseLog = (peerId: string, protocol: string): void => {
    // A joiner's identify and ping reach us before it is a member; that is expected, not a warning.
    const level = protocol === ROSTER_SYNC_PROTOCOL ? 'warn' : 'debug'
    logger[level]({ code: 'MESH_STREAM_REFUSED', peerId, protocol }, 'refused a stream from a non-member')
  }

  return {
    peerId: selfPeerId,
    host,
    async start() {
      await host.start()
      const mayStay = (peerId: string): boolean => isParticipant(peerId) || policy.acceptsPairing()
      const hungUp = (peerId: string): void => logger.debug({ code: 'MESH_STRANGER_HUNG_UP', peerId }, 'hung up on a stranger after its pairing answer')
      await libp2p.handle(PAIRING_PROTOCOL, hangUpAfterAnswer((stream, connection) => inviter.handle(stream, connection), mayStay, hungUp), { maxInboundStreams: 4 })
      await libp2p.handle(ROSTER_SYNC_PROTOCOL, membersOnly(isParticipant, (s, c) => sync.handle(s, c), refuseLog), { maxInboundStreams: 8 })
      await guardBuiltInProtocols(libp2p, isParticipant, refuseLog)
      libp2p.addEventListener('connection:open', listening.open)
      libp2p.addEventListener('peer:discovery', listening.discovery)
      libp2p.addEventListener('peer:disconnect', listening.disconnect)
      await libp2p.handle(ELECTION_PROTOCOL, membersOnly(isParticipant, (st, c) => transport.handle(st, c), refuseLog), { maxInboundStreams: 4 })
      publishOwnAddresses()
      health.start()
      reconnector.start()
      election.start()
    },
    async stop() {
      election.stop()
      transport.close()
      reconnector.stop()
      health.stop()
      rosterChange.stop()
      libp2p.removeEventListener('connection:open', listening.open)
      libp2p.removeEventListener('peer:discovery', listening.discovery)
      libp2p.removeEventListener('peer:disconnect', listening.disconnect)
      unsubscribe?.()
      for (const release of silenced.values()) release()
      silenced.clear()
      await host.stop()
      state?.roster.destroy()
    },
    status() {
      const roster = state?.roster
      return {
        member: state !== null && roster?.isMember(selfPeerId) === true,
        witness: state !== null && roster?.isWitness(selfPeerId) === true,
        removed: roster?.wasRemoved(selfPeerId) ?? false,
        meshId: roster?.meshId ?? null,
        agent: state === null ? null : { name: state.agentName, publicKey: toHex(state.agentPublicKey) },
        self: selfPeerId,
        members: roster?.members().length ?? 0,
        witnesses: roster?.witnesses().length ?? 0,
        connected: connectedParticipants().length,
        pendingInvitations: inviter.pending().length,
        meshKeyEpoch: state?.keys.at(-1)?.epoch ?? 0,
      }
    },
    peers() {
      if (state === null) return []
      const roster = state.roster
      return roster.participants().map((m) => health.view(m, roster.addressesOf(m.peerId), m.peerId === selfPeerId))
    },
    roster: () => state?.roster ?? null,
    invite(ttlMs, inviteRole = 'member') {
      if (state !== null && state.agentSeed === null) {
        throw new MeshNotMemberError('a witness cannot invite: make invitations on a machine of the mesh')
      }
      return inviter.invite(ttlMs, inviteRole)
    },
    async join(token, joinOptions) {
      if (state !== null) throw new PairingAlreadyMemberError('this machine already belongs to a mesh; a machine joins one mesh only')
      const result = await joinMesh(
        { clock, libp2p, machineSeed: deps.machineSeed, setJoining: (peerId) => (joiningPeer = peerId) },
        token,
        { name: deps.machineName, addresses: host.addresses() },
        { ...joinOptions, role },
      )
      const joined = membershipFromWelcome(result.welcome)
      deps.persistJoin(joined)
      becomeMember(joined, result.welcome.roster)
      // Now a voter: start the election afresh (a new timeout and the boot stickiness), so a
      // machine whose timer ran out while it waited to join does not stand before it has
      // heard the sitting leader's heartbeats. It holds no voter configuration until the
      // leader's reaches it (voters.ts C4): stored as an explicit none, so it never counts its roster.
      election.stop()
      const stored = deps.termStore.load()
      deps.termStore.save({ term: stored.term, votedFor: stored.votedFor, config: null })
      election.start()
      publishOwnAddresses()
      onRosterChange()
      logger.info({ mesh: result.invitation.meshId, inviter: result.invitation.inviterPeerId }, 'joined the mesh')
      return joinSummary(result, state!.roster)
    },
    async remove(query) {
      if (state === null) throw new MeshNotMemberError('this machine is not in a mesh')
      return removeMember({ logger, roster: state.roster, machineSeed: deps.machineSeed, selfPeerId, keys: state.keys, now: clock.now() }, query)
    },
    async leave() {
      if (state === null) throw new MeshNotMemberError('this machine is not in a mesh')
      if (state.agentSeed === null) {
        throw new MeshNotMemberError( 'a witness cannot remove itself: remove it on a machine of the mesh with "instar mesh remove <name>"')
      }
      // Tell the others before we go quiet: push the signed self-removal, then hang up.
      await leaveMesh({
        logger,
        libp2p,
        roster: state.roster,
        machineSeed: deps.machineSeed,
        machinePublicKey: machine.publicKey,
        now: clock.now(),
        peers: connectedParticipants(),
        push: (peerId) => sync.push(peerId),
        stopReconnecting: () => reconnector.stop(),
        setLeaving: (value) => (leaving = value),
      })
    },
    async handle(protocol, handler, handleOptions) {
      // force: a part that stops and starts again (the agent state after a join) re-registers.
      await libp2p.handle(protocol, membersOnly(isMember, handler, refuseLog), { maxInboundStreams: handleOptions?.maxInboundStreams ?? 8, force: true })
    },
    openStream: openMemberStream,
    connectedMembers,
    on(event: 'member:connect' | 'member:disconnect' | 'keys:change', fn: (e: never) => void) {
      const set = listeners[event] as Set<(e: never) => void>
      set.add(fn)
      return () => void set.delete(fn)
    },
    meshKeys: () => [...(state?.keys ?? [])],
    leader: () => election.info(),
    fence: (term) => election.fence(term),
    onLease(event: 'lease:acquired' | 'lease:lost', fn: (e: never) => void) {
      return election.on(event, fn as never)
    },
    handOff: () => election.handOff(),
    electionTraffic: () => ({ ...transport.sent(), refused: electionRefusals.counts() }),
    async partition(peers, partitionOptions) {
      blocked = new Set(peers)
      for (const [connection, release] of [...silenced]) {
        if (blocked.has(connection.remotePeer.toString())) continue
        silenced.delete(connection)
        release()
      }
      for (const connection of libp2p.getConnections()) {
        if (!blocked.has(connection.remotePeer.toString()) || silenced.has(connection)) continue
        const release = partitionOptions?.silent === true ? silenceConnection(connection) : null
        if (release !== null) silenced.set(connection, release)
        // A close that fails is ended by the abort; the close's error says nothing more.
        else await connection.close().catch(() => connection.abort(new Error('partitioned')))
      }
      if (partitionOptions?.silent !== true) for (const peerId of peers) transport.drop(peerId)
      // After a silent cut nothing tells a node the link is back: its reconnector finds out.
      if (peers.length === 0 && !silentCut) reconnector.kick()
      silentCut = peers.length > 0 && partitionOptions?.silent === true
    },
  }
}
