import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../mesh/index.js'

describe('manual clock', () => {
  it('fires timers in due order when advanced', () => {
    const clock = createManualClock(100)
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20)
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10)
    clock.advance(15)
    expect(fired).toEqual(['a@110'])
    clock.advance(10)
    expect(fired).toEqual(['a@110', 'b@120'])
    expect(clock.now()).toBe(125)
  })

  it('repeats intervals and stops after cancel', () => {
    const clock = createManualClock()
    let ticks = 0
    const handle = clock.setInterval(() => ticks++, 10)
    clock.advance(35)
    expect(ticks).toBe(3)
    handle.cancel()
    clock.advance(100)
    expect(ticks).toBe(3)
  })

  it('resolves sleep when time passes and rejects it on abort', async () => {
    const clock = createManualClock()
    const slept = clock.sleep(50)
    clock.advance(50)
    await expect(slept).resolves.toBeUndefined()
    const controller = new AbortController()
    const aborted = clock.sleep(50, { signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(aborted).rejects.toThrow('stop')
  })

  it('refuses to go backwards', () => {
    const clock = createManualClock(10)
    expect(() => clock.set(5)).toThrow(RangeError)
  })
})
