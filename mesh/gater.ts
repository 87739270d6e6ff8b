/**
 * The connection gater: a roster member or the witness is admitted; a removed machine never is;
 * an unknown peer (a stranger) only while this node holds an open invitation, or, while a used
 * or expired one is remembered, just long enough to hear why it is refused (the pairing handler
 * hangs up once it has answered, see protocol-guard.ts); or when we dial an inviter to join.
 * Strangers have their own quota and handshakes their own slots and deadline (admission.ts); a
 * stranger may open only the pairing protocol, which the protocol guard enforces.
 *
 * libp2p calls denyInboundConnection as soon as a socket is accepted (remote address only),
 * denyInboundEncryptedConnection once Noise has proved the peer id, and
 * denyInboundUpgradedConnection once the muxer is agreed; each gets the same raw connection.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import { createHandshakeSlots, createStrangerQuota, createThrottledLog, ipKeyOf, resolveAdmissionOptions, type AdmissionOptions } from './admission.js'
import type { Clock, TimerHandle } from '../runtime/index.js'
import type { Logger } from '../runtime/index.js'

export interface GaterPolicy {
  /** A member or the witness: admitted. */
  isMember(peerId: string): boolean
  wasRemoved(peerId: string): boolean
  /** Cut off by the fault suite's partition hook (never in normal operation): refused like a removed machine. */
  isCutOff?(peerId: string): boolean
  /** Whether an invitation is open: an unknown peer may connect in order to pair with us. */
  acceptsPairing(): boolean
  /** Whether a used or expired invitation is still remembered: an unknown peer may connect briefly, to hear why it is refused. */
  remembersPairing?(): boolean
  /** Whether we are dialling this peer to join its mesh. */
  isJoining(peerId: string): boolean
}

/** How a peer is let in: as a member, as the inviter we join, as a stranger to pair or only to be refused; or not at all. */
export type Admission = 'member' | 'joining' | 'pairing' | 'refusal' | 'refused'

export function admissionOf(policy: GaterPolicy, peerId: string, direction: 'inbound' | 'outbound'): Admission {
  if (policy.wasRemoved(peerId) || policy.isCutOff?.(peerId) === true) return 'refused'
  if (policy.isMember(peerId)) return 'member'
  if (direction === 'outbound') return policy.isJoining(peerId) ? 'joining' : 'refused'
  if (policy.acceptsPairing()) return 'pairing'
  return policy.remembersPairing?.() === true ? 'refusal' : 'refused'
}

export function admits(policy: GaterPolicy, peerId: string, direction: 'inbound' | 'outbound'): boolean {
  return admissionOf(policy, peerId, direction) !== 'refused'
}

export interface GaterDeps {
  /** The current policy; null before the mesh part is wired (start-up), when nothing is admitted. */
  policy(): GaterPolicy | null
  clock: Clock
  logger: Logger
}

export function createConnectionGater(deps: GaterDeps, options: AdmissionOptions = {}): ConnectionGater {
  const { clock } = deps
  const limits = resolveAdmissionOptions(options)
  const log = createThrottledLog(clock, deps.logger)
  const slots = createHandshakeSlots<MultiaddrConnection>({ perIp: limits.pendingPerIp, total: limits.pendingTotal })
  const strangers = createStrangerQuota<MultiaddrConnection>(
    { perIp: limits.strangersPerIp, total: limits.strangersTotal },
    (peerId) => deps.policy()?.isMember(peerId) === true,
  )
  /** Handshake deadlines, from the accepted socket until the muxer is agreed. */
  const deadlines = new Map<MultiaddrConnection, TimerHandle>()
  /** When each admitted stranger is hung up on. */
  const lifetimes = new Map<MultiaddrConnection, TimerHandle>()
  const watched = new WeakSet<MultiaddrConnection>()

  const drop = (maConn: MultiaddrConnection, why: string): void => {
    try {
      maConn.abort(new Error(why))
    } catch {
      // Already gone: nothing to drop.
    }
  }
  const settle = (maConn: MultiaddrConnection): void => {
    slots.close(maConn)
    deadlines.get(maConn)?.cancel()
    deadlines.delete(maConn)
  }
  const forget = (maConn: MultiaddrConnection): void => {
    settle(maConn)
    strangers.release(maConn)
    lifetimes.get(maConn)?.cancel()
    lifetimes.delete(maConn)
  }
  /** Forgets a connection once it closes (a connection can reach the later checks without the first, e.g. one upgraded with initiator false). */
  const watch = (maConn: MultiaddrConnection): void => {
    if (watched.has(maConn)) return
    watched.add(maConn)
    maConn.addEventListener('close', () => forget(maConn), { once: true })
  }

  const deny = (peerId: PeerId, direction: 'inbound' | 'outbound'): boolean => {
    const current = deps.policy()
    if (current === null) return true
    return !admits(current, peerId.toString(), direction)
  }

  return {
    denyInboundConnection(maConn) {
      if (deps.policy() === null) return true
      const ip = ipKeyOf(maConn.remoteAddr)
      const evicted = slots.open(maConn, ip)
      if (evicted !== undefined) {
        settle(evicted)
        drop(evicted, 'handshake evicted by a newer one')
        log('warn', 'MESH_HANDSHAKE_EVICTED', { ip: ipKeyOf(evicted.remoteAddr), pending: slots.size() }, 'dropped an unfinished handshake to make room for a new connection')
      }
      deadlines.set(
        maConn,
        clock.setTimeout(() => {
          deadlines.delete(maConn)
          slots.close(maConn)
          log('warn', 'MESH_HANDSHAKE_TIMEOUT', { ip }, 'dropped a connection whose handshake did not finish in time')
          drop(maConn, 'handshake timed out')
        }, limits.handshakeTimeoutMs),
      )
      watch(maConn)
      return false
    },
    denyInboundEncryptedConnection(peerId, maConn) {
      // Identified: out of the pool that silent sockets compete for; its deadline runs on.
      slots.close(maConn)
      const current = deps.policy()
      if (current === null) return true
      const id = peerId.toString()
      const admission = admissionOf(current, id, 'inbound')
      if (admission === 'member') return false
      if (admission === 'refused') {
        log('debug', 'MESH_PEER_REFUSED', { peerId: id }, 'refused a connection from a peer outside the mesh')
        return true
      }
      const ip = ipKeyOf(maConn.remoteAddr)
      watch(maConn)
      if (!strangers.admit(maConn, { ip, peerId: id })) {
        log('warn', 'MESH_STRANGER_QUOTA_FULL', { peerId: id, ip, strangers: strangers.size() }, 'refused a stranger: the strangers\' connection quota is full')
        return true
      }
      lifetimes.set(
        maConn,
        clock.setTimeout(
          () => {
            lifetimes.delete(maConn)
            strangers.release(maConn)
            // It paired meanwhile: a member now, it stays.
            if (deps.policy()?.isMember(id) === true) return
            log('debug', 'MESH_STRANGER_HUNG_UP', { peerId: id, ip, admission }, 'hung up on a stranger whose time was up')
            drop(maConn, 'a stranger\'s time is up')
          },
          admission === 'pairing' ? limits.strangerLifetimeMs : limits.refusalLifetimeMs,
        ),
      )
      return false
    },
    denyInboundUpgradedConnection(_peerId, maConn) {
      settle(maConn)
      return false
    },
    denyDialPeer: (peerId) => deny(peerId, 'outbound'),
    denyOutboundEncryptedConnection: (peerId) => deny(peerId, 'outbound'),
    denyInboundRelayedConnection: () => true,
    denyInboundRelayReservation: () => true,
  }
}
