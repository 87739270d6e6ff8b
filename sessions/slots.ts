/**
 * A fixed number of session slots, handed out in the order they were asked for. A waiter whose
 * signal aborts leaves the line; close() refuses every waiter with the error given.
 */

export interface Slots {
  /** Resolves when a slot is free; the caller must release it exactly once. */
  acquire(options?: { signal?: AbortSignal }): Promise<void>
  release(): void
  /** Slots free now. */
  free(): number
  waiting(): number
  close(err: Error): void
}

export function createSlots(size: number): Slots {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots must be a positive integer, not ${size}`)
  let used = 0
  let closed: Error | undefined
  const line: Array<{ grant: () => void; refuse: (err: Error) => void }> = []
  return {
    acquire(options = {}) {
      if (closed !== undefined) return Promise.reject(closed)
      const signal = options.signal
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error)
      if (used < size && line.length === 0) {
        used++
        return Promise.resolve()
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          const i = line.indexOf(entry)
          if (i >= 0) line.splice(i, 1)
          reject(signal?.reason as Error)
        }
        const entry = {
          grant: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
          refuse: (err: Error) => {
            signal?.removeEventListener('abort', onAbort)
            reject(err)
          },
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        line.push(entry)
      })
    },
    release() {
      const next = line.shift()
      if (next !== undefined) next.grant()
      else used = Math.max(0, used - 1)
    },
    free: () => size - used,
    waiting: () => line.length,
    close(err) {
      closed ??= err
      for (const entry of line.splice(0)) entry.refuse(err)
    },
  }
}
