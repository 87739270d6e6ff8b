/** Last-seen times and round-trip times of members and witnesses, from connections and periodic pings. */
import type { Clock, TimerHandle } from '../runtime/index.js'
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
  seen(peerId: string): void
  view(member: RosterMember, addresses: string[], self: boolean): PeerView
}

export function createPeerHealth(
  deps: { clock: Clock; libp2p: MeshLibp2p; logger: Logger; isMember(peerId: string): boolean },
  options: { intervalMs: number },
): PeerHealth {
  const lastSeen = new Map<string, number>()
  const rtt = new Map<string, number>()
  let timer: TimerHandle | null = null

  const connected = (peerId: string): boolean =>
    deps.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')

  const pingAll = (): void => {
    const peers = new Set(deps.libp2p.getConnections().map((c) => c.remotePeer))
    for (const peer of peers) {
      const peerId = peer.toString()
      if (!deps.isMember(peerId)) continue
      deps.libp2p.services.ping
        .ping(peer, { signal: deps.clock.timeoutSignal(Math.max(1000, options.intervalMs)) })
        .then((ms) => {
          rtt.set(peerId, ms)
          lastSeen.set(peerId, deps.clock.now())
        })
        .catch((err: Error) => deps.logger.debug({ code: 'MESH_PING_FAILED', peerId, err: err.message }, 'ping failed'))
    }
  }

  return {
    start() {
      timer ??= deps.clock.setInterval(pingAll, options.intervalMs)
    },
    stop() {
      timer?.cancel()
      timer = null
    },
    seen(peerId) {
      lastSeen.set(peerId, deps.clock.now())
    },
    view(member, addresses, self) {
      const isConnected = self || connected(member.peerId)
      if (isConnected && !self) lastSeen.set(member.peerId, deps.clock.now())
      return {
        name: member.name,
        peerId: member.peerId,
        fingerprint: member.fingerprint,
        role: member.role,
        self,
        connected: isConnected,
        lastSeen: self ? deps.clock.now() : (lastSeen.get(member.peerId) ?? null),
        addresses,
        rttMs: self ? 0 : (rtt.get(member.peerId) ?? null),
      }
    },
  }
}
