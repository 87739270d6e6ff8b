/** The only way an integration test waits: poll a condition until it holds or the deadline passes. */
import { createSystemClock } from '../../runtime/index.js'

const clock = createSystemClock()

export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { timeoutMs: number; intervalMs?: number; what?: string },
): Promise<NonNullable<T>> {
  const deadline = clock.now() + options.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await condition()
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (clock.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what ?? 'a condition'}`, { cause: lastError })
    }
    await clock.sleep(options.intervalMs ?? 25)
  }
}
