/**
 * Keeps this node connected to every member it knows: dials members that are not connected
 * at their last known addresses. A member is not a stranger to back off from: after a failed
 * dial it is tried again after `initialBackoffMs`, doubling up to `maxBackoffMs` (250 ms to
 * 1 s by default), each wait jittered down by up to a quarter so members do not dial each other
 * in lockstep. However long a cut lasted, a member is dialled within about `maxBackoffMs` of
 * the link's return, and at once when anything shows it is back (`seen`: an mDNS announcement,
 * a connection of its own) or when it is lost (`lost`: the first retry comes without waiting).
 *
 * The retry schedule is pure (`nextRetryDelay`), so it is tested on numbers.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Clock, TimerHandle } from '../runtime/index.js'
import type { MeshLibp2p } from './host.js'
import type { Logger } from '../runtime/index.js'

export interface ReconnectDeps {
  clock: Clock
  libp2p: MeshLibp2p
  logger: Logger
  /** Members to stay connected to (not this node), with their last known addresses. */
  targets(): Array<{ peerId: string; addresses: string[] }>
  /** In [0, 1): the retry jitter; Math.random without it. */
  random?: () => number
}

export interface ReconnectOptions {
  /** How often the reconnector looks for members to dial; default 250 ms. */
  intervalMs?: number
  /** The wait after a first failed dial; default 250 ms. */
  initialBackoffMs?: number
  /** The longest wait between two dials of one member; default 1 s. */
  maxBackoffMs?: number
  /** How long one dial (TCP, Noise, yamux) may take; default 2 s. */
  dialTimeoutMs?: number
}

export interface Reconnector {
  start(): void
  stop(): void
  /** Runs a pass now with every backoff cleared (after a roster change or a heal). */
  kick(): void
  /** Something showed this member is reachable (mDNS, a connection): dial it now if not connected. */
  seen(peerId: string): void
  /** The last connection to this member closed: its first retry comes without waiting. */
  lost(peerId: string): void
}

/** The wait before the next dial after `failures` failed dials in a row (>= 1), jittered by `random` in [0, 1). */
export function nextRetryDelay(failures: number, random: number, options: { initialBackoffMs: number; maxBackoffMs: number }): number {
  const base = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** Math.min(Math.max(0, failures - 1), 30))
  return Math.round(base * (1 - 0.25 * Math.min(Math.max(random, 0), 1)))
}

export function createReconnector(deps: ReconnectDeps, options: ReconnectOptions = {}): Reconnector {
  const intervalMs = options.intervalMs ?? 250
  const initialBackoffMs = options.initialBackoffMs ?? 250
  const maxBackoffMs = options.maxBackoffMs ?? 1000
  const dialTimeoutMs = options.dialTimeoutMs ?? 2000
  const random = deps.random ?? Math.random
  const backoff = new Map<string, { nextAt: number; failures: number }>()
  const dialing = new Set<string>()
  let timer: TimerHandle | null = null
  let running = false

  const connected = (peerId: string): boolean =>
    deps.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')

  const dial = async (peerId: string, addresses: Multiaddr[]): Promise<void> => {
    dialing.add(peerId)
    try {
      await deps.libp2p.dial(addresses, { signal: deps.clock.timeoutSignal(dialTimeoutMs) })
      backoff.delete(peerId)
      deps.logger.debug({ peerId }, 'reconnected to member')
    } catch (err) {
      const failures = (backoff.get(peerId)?.failures ?? 0) + 1
      const delay = nextRetryDelay(failures, random(), { initialBackoffMs, maxBackoffMs })
      backoff.set(peerId, { nextAt: deps.clock.now() + delay, failures })
      deps.logger.debug({ code: 'MESH_DIAL_FAILED', peerId, retryInMs: delay, err: (err as Error).message }, 'dial to member failed')
    } finally {
      dialing.delete(peerId)
    }
  }

  const dialTarget = (target: { peerId: string; addresses: string[] }, now: number): void => {
    if (dialing.has(target.peerId) || connected(target.peerId)) return
    const wait = backoff.get(target.peerId)
    if (wait !== undefined && wait.nextAt > now) return
    const addresses: Multiaddr[] = []
    for (const text of target.addresses) {
      try {
        addresses.push(multiaddr(text.includes('/p2p/') ? text : `${text}/p2p/${target.peerId}`))
      } catch {
        // A bad address in a signed record is the member's own mistake; skip it. The parser's
        // error only repeats the address, which is not logged: a peer chose it.
        deps.logger.debug({ code: 'MESH_ADDRESS_INVALID', peerId: target.peerId }, 'skipped a member address that is not a multiaddr')
      }
    }
    if (addresses.length === 0) return
    void dial(target.peerId, addresses)
  }

  const pass = (only?: string): void => {
    if (!running) return
    const now = deps.clock.now()
    for (const target of deps.targets()) if (only === undefined || target.peerId === only) dialTarget(target, now)
  }

  return {
    start() {
      if (running) return
      running = true
      timer = deps.clock.setInterval(() => pass(), intervalMs)
      pass()
    },
    stop() {
      running = false
      timer?.cancel()
      timer = null
    },
    kick() {
      backoff.clear()
      pass()
    },
    seen(peerId) {
      backoff.delete(peerId)
      pass(peerId)
    },
    lost(peerId) {
      backoff.delete(peerId)
      pass(peerId)
    },
  }
}
