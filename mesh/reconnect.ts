/**
 * Keeps this node connected to every member it knows: dials members that are not connected
 * at their last known addresses, backing off per peer (doubling up to a cap) after failures.
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
}

export interface ReconnectOptions {
  intervalMs?: number
  initialBackoffMs?: number
  maxBackoffMs?: number
  dialTimeoutMs?: number
}

export interface Reconnector {
  start(): void
  stop(): void
  /** Runs a pass now (after a roster change), instead of waiting for the next tick. */
  kick(): void
}

export function createReconnector(deps: ReconnectDeps, options: ReconnectOptions = {}): Reconnector {
  const intervalMs = options.intervalMs ?? 1000
  const initialBackoffMs = options.initialBackoffMs ?? 1000
  const maxBackoffMs = options.maxBackoffMs ?? 30_000
  const dialTimeoutMs = options.dialTimeoutMs ?? 5000
  const backoff = new Map<string, { nextAt: number; delay: number }>()
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
      const previous = backoff.get(peerId)?.delay ?? initialBackoffMs / 2
      const delay = Math.min(maxBackoffMs, previous * 2)
      backoff.set(peerId, { nextAt: deps.clock.now() + delay, delay })
      deps.logger.debug({ code: 'MESH_DIAL_FAILED', peerId, retryInMs: delay, err: (err as Error).message }, 'dial to member failed')
    } finally {
      dialing.delete(peerId)
    }
  }

  const pass = (): void => {
    if (!running) return
    const now = deps.clock.now()
    for (const target of deps.targets()) {
      if (dialing.has(target.peerId) || connected(target.peerId)) continue
      const wait = backoff.get(target.peerId)
      if (wait !== undefined && wait.nextAt > now) continue
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
      if (addresses.length === 0) continue
      void dial(target.peerId, addresses)
    }
  }

  return {
    start() {
      if (running) return
      running = true
      timer = deps.clock.setInterval(pass, intervalMs)
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
  }
}
