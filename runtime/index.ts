/**
 * runtime: what every concern needs from the process it runs in, and tests must be able to
 * swap: the Clock (time, timers, timeout signals; the system clock and a manual one) and the
 * Logger port (pino's shape). Imports nothing of ours; every other folder may import it.
 *
 *   const clock = createManualClock(0)
 *   const signal = clock.timeoutSignal(5000)
 *   clock.advance(5000) // signal.aborted === true, reason a TimeoutError
 */
export { createManualClock, createSystemClock } from './clock.js'
export type { Clock, ClockErrorHandler, ManualClock, ManualClockOptions, SystemClockOptions, TimerHandle } from './clock.js'
export type { Logger } from './logger.js'
export { silentLogger } from './logger.js'
