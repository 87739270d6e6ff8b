/** A sliding-window rate limit per key (pairing attempts per peer), driven by the caller's clock. */

export interface RateLimiter {
  /** Records an attempt at `now`; returns 0 when allowed, else the ms until the next one would be. */
  attempt(key: string, now: number): number
}

export function createRateLimiter(options: { max: number; windowMs: number; maxKeys?: number }): RateLimiter {
  const attempts = new Map<string, number[]>()
  const maxKeys = options.maxKeys ?? 10_000
  return {
    attempt(key, now) {
      const recent = (attempts.get(key) ?? []).filter((t) => t > now - options.windowMs)
      if (recent.length >= options.max) {
        attempts.set(key, recent)
        return (recent[0] ?? now) + options.windowMs - now
      }
      recent.push(now)
      attempts.delete(key)
      attempts.set(key, recent)
      // Bound memory against a flood of distinct peer ids: forget the oldest keys.
      while (attempts.size > maxKeys) {
        const oldest = attempts.keys().next().value
        if (oldest === undefined) break
        attempts.delete(oldest)
      }
      return 0
    },
  }
}
