import { describe, expect, it } from 'vitest'
import { createFailureDetector, resolveFailureDetectorOptions } from '../../mesh/failure-detector.js'
import { createManualClock } from '../../runtime/index.js'

/** Ticks the detector on a manual clock as peer-health does, collecting whom it declares dead and when. */
function ticking(connected: () => string[]) {
  const clock = createManualClock(0)
  const detector = createFailureDetector({ probeIntervalMs: 250, deadAfterMs: 1500 })
  const dead: Array<{ peerId: string; at: number }> = []
  clock.setInterval(() => {
    for (const peerId of detector.tick(clock.now(), connected())) dead.push({ peerId, at: clock.now() })
  }, detector.probeIntervalMs)
  return { clock, detector, dead }
}

describe('failure detector', () => {
  it('declares a connected peer that goes silent dead within two seconds of its last sign of life', () => {
    const { clock, detector, dead } = ticking(() => ['b'])
    clock.advance(250)
    detector.alive('b', clock.now())
    const lastSign = clock.now()
    clock.advance(1000)
    expect(dead).toEqual([])
    clock.advance(1000)
    expect(dead).toHaveLength(1)
    expect(dead[0]?.peerId).toBe('b')
    expect((dead[0]?.at ?? 0) - lastSign).toBeGreaterThanOrEqual(1500)
    expect((dead[0]?.at ?? 0) - lastSign).toBeLessThan(2000)
  })

  it('keeps a peer that keeps answering alive indefinitely', () => {
    const { clock, detector, dead } = ticking(() => ['b'])
    for (let i = 0; i < 400; i++) {
      clock.advance(100)
      detector.alive('b', clock.now())
    }
    expect(dead).toEqual([])
  })

  it('declares a silent peer dead once, and counts afresh when it is connected again', () => {
    let connected = ['b']
    const { clock, dead } = ticking(() => connected)
    clock.advance(2000)
    expect(dead.map((d) => d.peerId)).toEqual(['b'])
    connected = []
    clock.advance(5000)
    connected = ['b']
    clock.advance(1000)
    expect(dead).toHaveLength(1)
    clock.advance(1000)
    expect(dead).toHaveLength(2)
  })

  it('does not take its own stall for the peers\' silence', () => {
    const clock = createManualClock(0)
    const detector = createFailureDetector({ probeIntervalMs: 250, deadAfterMs: 1500 })
    expect(detector.tick(0, ['b'])).toEqual([])
    // The event loop was blocked for 3 s: the next tick runs before the queued pings are read.
    clock.advance(3000)
    expect(detector.tick(clock.now(), ['b'])).toEqual([])
    // The peer is still counted, from the end of the stall: dead 1.5 s after it if still silent.
    const deadAt: number[] = []
    for (let at = clock.now() + 250; at <= clock.now() + 2000; at += 250) if (detector.tick(at, ['b']).length > 0) deadAt.push(at)
    expect(deadAt).toEqual([clock.now() + 1500])
  })

  it('knows whom it heard within one probe interval, so those need no ping', () => {
    const detector = createFailureDetector({ probeIntervalMs: 250, deadAfterMs: 1500 })
    detector.alive('b', 1000)
    expect(detector.heardRecently('b', 1200)).toBe(true)
    expect(detector.heardRecently('b', 1250)).toBe(false)
    expect(detector.heardRecently('c', 1200)).toBe(false)
  })

  it('refuses options that would declare a peer dead before it could be probed twice', () => {
    expect(() => resolveFailureDetectorOptions({ probeIntervalMs: 500, deadAfterMs: 600 })).toThrow(RangeError)
    expect(() => resolveFailureDetectorOptions({ probeIntervalMs: 0 })).toThrow(RangeError)
    expect(resolveFailureDetectorOptions()).toEqual({ probeIntervalMs: 250, deadAfterMs: 1250 })
  })
})
