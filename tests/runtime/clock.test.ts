import { describe, expect, it, vi } from 'vitest'
import { ElectionFrameMalformedError } from '../../mesh/index.js'
import { createManualClock, createSystemClock } from '../../runtime/index.js'

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

describe('manual clock with a throwing callback', () => {
  it('fires every other due timer, then throws the error out of advance', () => {
    const clock = createManualClock()
    const fired: number[] = []
    const boom = new ElectionFrameMalformedError('test')
    clock.setTimeout(() => fired.push(1), 10)
    clock.setTimeout(() => {
      throw boom
    }, 20)
    clock.setTimeout(() => fired.push(3), 30)
    expect(() => clock.advance(50)).toThrow(boom)
    expect(fired).toEqual([1, 3])
    expect(clock.now()).toBe(50)
  })

  it('throws several errors as one AggregateError', () => {
    const clock = createManualClock()
    clock.setTimeout(() => {
      throw new Error('one')
    }, 1)
    clock.setTimeout(() => {
      throw new Error('two')
    }, 2)
    let caught: unknown
    try {
      clock.advance(5)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(AggregateError)
    expect((caught as AggregateError).errors.map((e: Error) => e.message)).toEqual(['one', 'two'])
  })

  it('reports to onError instead, when given one, and carries on', () => {
    const reported: unknown[] = []
    const clock = createManualClock(0, { onError: (err) => reported.push(err) })
    let ticks = 0
    clock.setInterval(() => {
      ticks++
      throw new ElectionFrameMalformedError('tick')
    }, 10)
    expect(() => clock.advance(35)).not.toThrow()
    expect(ticks).toBe(3)
    expect(reported.map((e) => (e as { code: string }).code)).toEqual(['ELECTION_FRAME_MALFORMED', 'ELECTION_FRAME_MALFORMED', 'ELECTION_FRAME_MALFORMED'])
  })
})

describe('system clock with a throwing callback', () => {
  it('reports a throwing timeout to onError with its code, and later timers still fire', async () => {
    const reported: unknown[] = []
    const clock = createSystemClock({ onError: (err) => reported.push(err) })
    clock.setTimeout(() => {
      throw new ElectionFrameMalformedError('term 9007199254740992 is not an integer')
    }, 1)
    const later = await new Promise<string>((resolve) => clock.setTimeout(() => resolve('fired'), 5))
    expect(later).toBe('fired')
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatchObject({ code: 'ELECTION_FRAME_MALFORMED' })
  })

  it('keeps a throwing interval armed, reporting each throw', async () => {
    const reported: unknown[] = []
    const clock = createSystemClock({ onError: (err) => reported.push(err) })
    let ticks = 0
    const done = new Promise<void>((resolve) => {
      const handle = clock.setInterval(() => {
        ticks++
        if (ticks === 3) {
          handle.cancel()
          resolve()
        }
        throw new Error(`tick ${ticks}`)
      }, 1)
    })
    await done
    expect(reported.map((e) => (e as Error).message)).toEqual(['tick 1', 'tick 2', 'tick 3'])
  })

  it('reports the rejection of a promise an async callback returns', async () => {
    const reported = new Promise<unknown>((resolve) => {
      const clock = createSystemClock({ onError: resolve })
      clock.setTimeout((async () => {
        await Promise.resolve()
        throw new ElectionFrameMalformedError('async')
      }) as () => void, 1)
    })
    expect(await reported).toMatchObject({ code: 'ELECTION_FRAME_MALFORMED' })
  })

  it('writes a throw to stderr with its code when there is no onError, or when onError throws', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      const plain = createSystemClock()
      plain.setTimeout(() => {
        throw new ElectionFrameMalformedError('no handler')
      }, 1)
      const failing = createSystemClock({
        onError: () => {
          throw new Error('the handler broke')
        },
      })
      failing.setTimeout(() => {
        throw new Error('first')
      }, 1)
      await new Promise<void>((resolve) => plain.setTimeout(resolve, 10))
      const lines = write.mock.calls.map((c) => String(c[0]))
      expect(lines.some((l) => l.includes('[ELECTION_FRAME_MALFORMED]'))).toBe(true)
      expect(lines.some((l) => l.includes('[CLOCK_CALLBACK_FAILED]') && l.includes('the handler broke'))).toBe(true)
    } finally {
      write.mockRestore()
    }
  })
})

describe('timeout signals', () => {
  it('aborts with a TimeoutError once the manual clock reaches the timeout, not before', () => {
    const clock = createManualClock(0)
    const signal = clock.timeoutSignal(1000)
    clock.advance(999)
    expect(signal.aborted).toBe(false)
    clock.advance(1)
    expect(signal.aborted).toBe(true)
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it('aborts at once with the reason of a parent signal that aborts first, and its timer is dropped', () => {
    const clock = createManualClock(0)
    const parent = new AbortController()
    const signal = clock.timeoutSignal(1000, { signal: parent.signal })
    parent.abort(new Error('cancelled'))
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).message).toBe('cancelled')
    clock.advance(2000)
    expect((signal.reason as Error).message).toBe('cancelled')
    const already = clock.timeoutSignal(1000, { signal: parent.signal })
    expect(already.aborted).toBe(true)
  })

  it('aborts a real wait on the system clock', async () => {
    const clock = createSystemClock()
    const signal = clock.timeoutSignal(5)
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
  })
})
