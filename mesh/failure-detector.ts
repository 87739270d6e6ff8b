/**
 * The failure detector of member connections, as pure logic on `now`: a connected peer that
 * has given no sign of life (a ping answered, an election message, a new connection) for
 * `deadAfterMs` is declared dead, so its connection can be closed at once rather than left to
 * TCP's own timeouts (which, for a silently cut link, take minutes; yamux's keep-alive, 30 s).
 *
 * Our own stall is not the peer's silence: a tick that comes much later than it should (the
 * event loop was blocked, the process paused) runs before the I/O that queued meanwhile is
 * read, so it declares nobody dead and starts every peer's count afresh.
 */

export interface FailureDetectorOptions {
  /** How often the caller ticks (and probes peers); default 250 ms. */
  probeIntervalMs?: number
  /** Silence after which a connected peer is dead; default 1250 ms. */
  deadAfterMs?: number
}

export interface FailureDetector {
  readonly probeIntervalMs: number
  readonly deadAfterMs: number
  /** A sign of life from the peer at `now`. */
  alive(peerId: string, now: number): void
  /** Whether the peer has been heard from within one probe interval (no need to probe it). */
  heardRecently(peerId: string, now: number): boolean
  /** The peer is no longer connected: nothing is counted for it until it is again. */
  forget(peerId: string): void
  /** Of the `connected` peers, those silent for deadAfterMs at `now` (each is then forgotten). */
  tick(now: number, connected: Iterable<string>): string[]
}

export function resolveFailureDetectorOptions(options: FailureDetectorOptions = {}): Required<FailureDetectorOptions> {
  const probeIntervalMs = options.probeIntervalMs ?? 250
  const deadAfterMs = options.deadAfterMs ?? 1250
  if (!(Number.isFinite(probeIntervalMs) && probeIntervalMs > 0 && Number.isFinite(deadAfterMs) && deadAfterMs >= 2 * probeIntervalMs)) {
    throw new RangeError('failure detector options need 0 < probeIntervalMs and deadAfterMs >= 2 * probeIntervalMs')
  }
  return { probeIntervalMs, deadAfterMs }
}

export function createFailureDetector(options: FailureDetectorOptions = {}): FailureDetector {
  const { probeIntervalMs, deadAfterMs } = resolveFailureDetectorOptions(options)
  const lastSign = new Map<string, number>()
  let lastTick: number | null = null
  // A tick this late means we were not running: the peers' signs may be waiting unread.
  const lateAfterMs = probeIntervalMs + deadAfterMs / 2

  return {
    probeIntervalMs,
    deadAfterMs,
    alive(peerId, now) {
      if ((lastSign.get(peerId) ?? -Infinity) < now) lastSign.set(peerId, now)
    },
    heardRecently(peerId, now) {
      return now - (lastSign.get(peerId) ?? -Infinity) < probeIntervalMs
    },
    forget(peerId) {
      lastSign.delete(peerId)
    },
    tick(now, connected) {
      const stalled = lastTick !== null && now - lastTick > lateAfterMs
      lastTick = now
      const dead: string[] = []
      const present = new Set(connected)
      for (const peerId of lastSign.keys()) if (!present.has(peerId)) lastSign.delete(peerId)
      for (const peerId of present) {
        const last = lastSign.get(peerId)
        // A peer first seen connected now starts its count now, as does everyone after our stall.
        if (last === undefined || stalled) {
          lastSign.set(peerId, Math.max(last ?? -Infinity, now))
          continue
        }
        if (now - last >= deadAfterMs) {
          dead.push(peerId)
          lastSign.delete(peerId)
        }
      }
      return dead
    },
  }
}
