import { describe, expect, it } from 'vitest'
import type { MeshLibp2p } from '../../mesh/host.js'
import { createReconnector, nextRetryDelay } from '../../mesh/reconnect.js'
import { createManualClock, silentLogger } from '../../runtime/index.js'

const SCHEDULE = { initialBackoffMs: 250, maxBackoffMs: 1000 }

/**
 * A stand-in for libp2p with what the reconnector uses (connections and dial): each dial fails
 * at once while `reachable` is false, and connects while it is true. Dials are recorded with the
 * manual clock's time.
 */
function fakeNet(peer: string) {
  const state = { reachable: false, connected: false, dials: [] as number[] }
  const clock = createManualClock(0)
  const libp2p = {
    getConnections: () => (state.connected ? [{ remotePeer: { toString: () => peer }, status: 'open' }] : []),
    dial: async () => {
      state.dials.push(clock.now())
      if (!state.reachable) throw new Error('ECONNREFUSED')
      state.connected = true
    },
  } as unknown as MeshLibp2p
  const reconnector = createReconnector(
    { clock, libp2p, logger: silentLogger, random: () => 0.5, targets: () => [{ peerId: peer, addresses: ['/ip4/127.0.0.1/tcp/4001'] }] },
    { intervalMs: 250, ...SCHEDULE },
  )
  return { state, clock, reconnector }
}

/** Lets the fake dial's promise settle between manual clock steps. */
async function step(clock: ReturnType<typeof createManualClock>, ms: number, by = 50): Promise<void> {
  for (let t = 0; t < ms; t += by) {
    clock.advance(by)
    await Promise.resolve()
    await Promise.resolve()
  }
}

describe('reconnect policy', () => {
  it('waits 250 ms after a first failure, doubling to at most 1 s, each wait jittered down by at most a quarter', () => {
    expect([1, 2, 3, 4, 50].map((n) => nextRetryDelay(n, 0, SCHEDULE))).toEqual([250, 500, 1000, 1000, 1000])
    for (const random of [0, 0.3, 0.99]) {
      for (let n = 1; n < 10; n++) {
        const delay = nextRetryDelay(n, random, SCHEDULE)
        expect(delay).toBeGreaterThanOrEqual(0.75 * Math.min(1000, 250 * 2 ** (n - 1)))
        expect(delay).toBeLessThanOrEqual(1000)
      }
    }
  })

  it('keeps dialling a member that is down at least once a second, however long it stays down', async () => {
    const { state, clock, reconnector } = fakeNet('m')
    reconnector.start()
    await step(clock, 120_000, 250)
    const gaps = state.dials.slice(1).map((t, i) => t - (state.dials[i] ?? 0))
    expect(state.dials.length).toBeGreaterThan(100)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1000)
    reconnector.stop()
  })

  it('reconnects within a second of the member becoming reachable after a long cut', async () => {
    const { state, clock, reconnector } = fakeNet('m')
    reconnector.start()
    await step(clock, 300_000, 250)
    state.reachable = true
    const healedAt = clock.now()
    await step(clock, 2000)
    expect(state.connected).toBe(true)
    expect((state.dials.at(-1) ?? Infinity) - healedAt).toBeLessThanOrEqual(1000)
    reconnector.stop()
  })

  it('dials at once, whatever the backoff, when the member is seen or its connection is lost', async () => {
    const { state, clock, reconnector } = fakeNet('m')
    reconnector.start()
    await step(clock, 10_000, 250)
    const before = state.dials.length
    state.reachable = true
    reconnector.seen('m')
    await Promise.resolve()
    expect(state.dials.length).toBe(before + 1)
    expect(state.connected).toBe(true)
    state.connected = false
    reconnector.lost('m')
    await Promise.resolve()
    expect(state.dials.length).toBe(before + 2)
    reconnector.stop()
  })
})
