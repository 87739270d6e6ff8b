/**
 * The Clock port. This is the only file that reads the system time, arms timers or makes
 * timeout signals; everything else takes a Clock (or a `now` argument) so tests can drive time
 * by hand.
 *
 * No timer callback may throw into the event loop: a throw (or the rejection of a promise a
 * callback returns) would be an uncaught exception that kills the process. The system clock
 * catches it, hands it to `onError` and carries on: the other timers fire, an interval stays
 * armed. The manual clock also fires every other timer that falls due, then throws the error
 * out of `advance`/`set`, so a test sees a timer that threw as a failure where it happened;
 * given `onError` it reports instead, as the system clock does.
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
  /**
   * A signal that aborts after `ms` with a DOMException named 'TimeoutError' (as
   * AbortSignal.timeout does), or as soon as `options.signal` aborts, with its reason. The
   * system clock's timer does not keep the process alive.
   */
  timeoutSignal(ms: number, options?: { signal?: AbortSignal }): AbortSignal
}

/** Told what a timer callback threw; must not throw itself (if it does, that is reported to stderr). */
export type ClockErrorHandler = (err: unknown) => void

export interface SystemClockOptions {
  /** Where a timer callback's throw goes; default: one line on stderr with the error's code. */
  onError?: ClockErrorHandler
}

/** The real clock. */
export function createSystemClock(options: SystemClockOptions = {}): Clock {
  const guard = guarded(options.onError ?? reportToStderr)
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const t = setTimeout(guard(fn), ms)
      return { cancel: () => clearTimeout(t) }
    },
    setInterval(fn, ms) {
      const t = setInterval(guard(fn), ms)
      return { cancel: () => clearInterval(t) }
    },
    sleep(ms, sleepOptions) {
      return sleepWith(clock, ms, sleepOptions?.signal)
    },
    timeoutSignal(ms, signalOptions) {
      return timeoutSignalWith((fire) => {
        const t = setTimeout(fire, ms)
        t.unref()
        return { cancel: () => clearTimeout(t) }
      }, signalOptions?.signal)
    },
  }
  return clock
}

/**
 * Wraps a callback so that whatever it throws, or the promise it returns rejects with, goes to
 * `onError`. A throwing `onError` is the last thing that could escape; it goes to stderr.
 */
function guarded(onError: ClockErrorHandler): (fn: () => void) => () => void {
  const report = (err: unknown): void => {
    try {
      onError(err)
    } catch (failure) {
      reportToStderr(failure)
    }
  }
  return (fn) => () => {
    try {
      const result: unknown = fn()
      if (isThenable(result)) result.then(undefined, report)
    } catch (err) {
      report(err)
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function reportToStderr(err: unknown): void {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'CLOCK_CALLBACK_FAILED'
  const message = err instanceof Error ? err.message : String(err)
  try {
    process.stderr.write(`instar: a timer callback threw [${code}]: ${message}\n`)
  } catch {
    // stderr itself is gone: there is nowhere left to report to.
  }
}

export interface ManualClockOptions {
  /** Given, a timer callback's throw is reported here and `advance` carries on without throwing. */
  onError?: ClockErrorHandler
}

/** A clock that moves only when told to; for unit tests of timeouts, leases and expiry. */
export interface ManualClock extends Clock {
  /**
   * Moves time forward, firing every timer that falls due, in order. A callback that throws
   * does not stop the others: once every due timer has fired, the error is thrown from here
   * (several as an AggregateError), unless the clock was given `onError`.
   */
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

export function createManualClock(start = 0, options: ManualClockOptions = {}): ManualClock {
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
    sleep(ms, sleepOptions) {
      return sleepWith(clock, ms, sleepOptions?.signal)
    },
    timeoutSignal(ms, signalOptions) {
      return timeoutSignalWith((fire) => arm(fire, ms, null), signalOptions?.signal)
    },
    advance(ms) {
      clock.set(current + ms)
    },
    set(target) {
      if (target < current) throw new RangeError('a manual clock cannot go backwards')
      const thrown: unknown[] = []
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
        try {
          next.fn()
        } catch (err) {
          thrown.push(err)
        }
      }
      current = target
      if (thrown.length === 0) return
      if (options.onError !== undefined) {
        for (const err of thrown) options.onError(err)
        return
      }
      throw thrown.length === 1 ? thrown[0] : new AggregateError(thrown, `${thrown.length} timer callbacks threw`)
    },
  }
  return clock
}

/** A controller aborted by the timer `arm` sets, or by `parent`, whichever comes first. */
function timeoutSignalWith(arm: (fire: () => void) => TimerHandle, parent: AbortSignal | undefined): AbortSignal {
  const controller = new AbortController()
  if (parent?.aborted === true) {
    controller.abort(parent.reason)
    return controller.signal
  }
  const onParent = (): void => {
    timer.cancel()
    controller.abort(parent?.reason)
  }
  const timer = arm(() => {
    parent?.removeEventListener('abort', onParent)
    controller.abort(new DOMException('The operation timed out', 'TimeoutError'))
  })
  parent?.addEventListener('abort', onParent, { once: true })
  return controller.signal
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
