/**
 * Last-seen times and round-trip times of members and witnesses, and the failure detector
 * over their connections (failure-detector.ts): every probe interval, a connected participant
 * not heard from within it is pinged; one silent for the detector's deadAfterMs has its
 * connections aborted (MESH_PEER_UNRESPONSIVE), so the reconnector dials it again and the
 * rest of the node (sync, election) sees it gone within seconds, not TCP's minutes.
 */
import type { Clock, TimerHandle } from '../runtime/index.js'
import { MeshPeerUnresponsiveError } from './errors.js'
import { createFailureDetector, type FailureDetectorOptions } from './failure-detector.js'
import type { MeshLibp2p } from './host.js'
import type { Logger } from '../runtime/index.js'
import type { RosterMember } from './roster.js'

export interface PeerView {
  name: string
  peerId: string
  fingerprint: string
  /** A member, or the witness that votes but never leads. */
  role: 'member' | 'witness'
  self: boolean
  connected: boolean
  /** Milliseconds since the epoch when this node last heard from the peer, or null if never. */
  lastSeen: number | null
  addresses: string[]
  rttMs: number | null
}

export interface PeerHealth {
  start(): void
  stop(): void
  /** A sign of life from the peer (a connection opened, an election message): it counts for the detector too. */
  seen(peerId: string): void
  /** The peer's last connection closed. */
  gone(peerId: string): void
  view(member: RosterMember, addresses: string[], self: boolean): PeerView
}

export interface PeerHealthOptions {
  /** How often round-trip times are measured; default 5 s. */
  intervalMs: number
  detector?: FailureDetectorOptions
}

export function createPeerHealth(
  deps: { clock: Clock; libp2p: MeshLibp2p; logger: Logger; isMember(peerId: string): boolean; onDead?(peerId: string): void },
  options: PeerHealthOptions,
): PeerHealth {
  const lastSeen = new Map<string, number>()
  const rtt = new Map<string, { ms: number; at: number }>()
  const detector = createFailureDetector(options.detector)
  const probing = new Set<string>()
  let timer: TimerHandle | null = null

  const connected = (peerId: string): boolean =>
    deps.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')

  const seen = (peerId: string): void => {
    const now = deps.clock.now()
    lastSeen.set(peerId, now)
    detector.alive(peerId, now)
  }

  const probe = (peerId: string, peer: Parameters<MeshLibp2p['services']['ping']['ping']>[0]): void => {
    probing.add(peerId)
    deps.libp2p.services.ping
      .ping(peer, { signal: deps.clock.timeoutSignal(detector.deadAfterMs) })
      .then((ms) => {
        rtt.set(peerId, { ms, at: deps.clock.now() })
        seen(peerId)
      })
      .catch((err: Error) => deps.logger.debug({ code: 'MESH_PING_FAILED', peerId, err: err.message }, 'ping failed'))
      .finally(() => probing.delete(peerId))
  }

  const tick = (): void => {
    const now = deps.clock.now()
    const peers = new Map<string, Parameters<MeshLibp2p['services']['ping']['ping']>[0]>()
    for (const c of deps.libp2p.getConnections()) {
      const peerId = c.remotePeer.toString()
      if (c.status === 'open' && deps.isMember(peerId)) peers.set(peerId, c.remotePeer)
    }
    for (const peerId of detector.tick(now, peers.keys())) {
      const err = new MeshPeerUnresponsiveError(peerId, detector.deadAfterMs)
      deps.logger.info({ code: err.code, peerId, silentMs: err.silentMs }, err.message)
      peers.delete(peerId)
      for (const c of deps.libp2p.getConnections()) if (c.remotePeer.toString() === peerId) c.abort(err)
      deps.onDead?.(peerId)
    }
    for (const [peerId, peer] of peers) {
      if (probing.has(peerId)) continue
      const rttDue = now - (rtt.get(peerId)?.at ?? -Infinity) >= options.intervalMs
      if (rttDue || !detector.heardRecently(peerId, now)) probe(peerId, peer)
    }
  }

  return {
    start() {
      timer ??= deps.clock.setInterval(tick, detector.probeIntervalMs)
    },
    stop() {
      timer?.cancel()
      timer = null
    },
    seen,
    gone(peerId) {
      lastSeen.set(peerId, deps.clock.now())
      detector.forget(peerId)
    },
    view(member, addresses, self) {
      const isConnected = self || connected(member.peerId)
      return {
        name: member.name,
        peerId: member.peerId,
        fingerprint: member.fingerprint,
        role: member.role,
        self,
        connected: isConnected,
        lastSeen: self ? deps.clock.now() : (lastSeen.get(member.peerId) ?? null),
        addresses,
        rttMs: self ? 0 : (rtt.get(member.peerId)?.ms ?? null),
      }
    },
  }
}
