/**
 * The Clock port. This is the only file that reads the system time or arms timers;
 * everything else takes a Clock (or a `now` argument) so tests can drive time by hand.
 */

export interface TimerHandle {
  cancel(): void
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** Runs `fn` once after `ms`; the handle cancels it. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  /** Runs `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void>
}

/** The real clock. */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const t = setTimeout(fn, ms)
      return { cancel: () => clearTimeout(t) }
    },
    setInterval(fn, ms) {
      const t = setInterval(fn, ms)
      return { cancel: () => clearInterval(t) }
    },
    sleep(ms, options) {
      return sleepWith(this, ms, options?.signal)
    },
  }
}

/** A clock that moves only when told to; for unit tests of timeouts, leases and expiry. */
export interface ManualClock extends Clock {
  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void
  /** Sets the absolute time (must not go backwards). */
  set(now: number): void
}

interface PendingTimer {
  id: number
  due: number
  every: number | null
  fn: () => void
}

export function createManualClock(start = 0): ManualClock {
  let current = start
  let nextId = 1
  const timers = new Map<number, PendingTimer>()

  const arm = (fn: () => void, ms: number, every: number | null): TimerHandle => {
    const id = nextId++
    timers.set(id, { id, due: current + Math.max(0, ms), every, fn })
    return { cancel: () => timers.delete(id) }
  }

  const clock: ManualClock = {
    now: () => current,
    setTimeout: (fn, ms) => arm(fn, ms, null),
    setInterval: (fn, ms) => arm(fn, ms, Math.max(1, ms)),
    sleep(ms, options) {
      return sleepWith(clock, ms, options?.signal)
    },
    advance(ms) {
      clock.set(current + ms)
    },
    set(target) {
      if (target < current) throw new RangeError('a manual clock cannot go backwards')
      for (;;) {
        // Fire the earliest due timer first; ties fire in the order they were armed.
        let next: PendingTimer | undefined
        for (const t of timers.values()) {
          if (t.due <= target && (next === undefined || t.due < next.due)) next = t
        }
        if (next === undefined) break
        current = next.due
        if (next.every === null) timers.delete(next.id)
        else next.due += next.every
        next.fn()
      }
      current = target
    },
  }
  return clock
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      handle.cancel()
      reject(signal?.reason)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
