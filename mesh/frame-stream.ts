/** Length-prefixed frames over a libp2p stream, with a size limit and a deadline per read. */
import type { Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'

export interface FrameStream {
  /** The next frame; without a signal it waits as long as the stream lives. */
  read(options?: { signal?: AbortSignal }): Promise<Uint8Array>
  write(frame: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  close(): Promise<void>
  /**
   * Resolves once the remote has closed its writable end, the stream has ended, or the signal
   * fired: a sender that must know its frame was taken in (the peer closes after reading) waits
   * here before closing the connection.
   */
  remoteClosed(options?: { signal?: AbortSignal }): Promise<void>
  abort(reason: Error): void
}

export function frameStream(stream: Stream, maxFrame: number): FrameStream {
  const lp: LengthPrefixedStream<Stream> = lpStream(stream, { maxDataLength: maxFrame })
  return {
    async read(options) {
      const list = await lp.read(options?.signal === undefined ? {} : { signal: options.signal })
      return list.subarray()
    },
    async write(frame, options) {
      await lp.write(frame, options?.signal === undefined ? {} : { signal: options.signal })
    },
    async close() {
      try {
        await stream.close()
      } catch (err) {
        // The close is ours to give up on: the abort that follows ends the stream either way.
        stream.abort(err instanceof Error ? err : new Error('close failed'))
      }
    },
    remoteClosed(options) {
      const signal = options?.signal
      const ended = (): boolean => stream.remoteWriteStatus === 'closed' || stream.status !== 'open' || signal?.aborted === true
      if (ended()) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const done = (): void => {
          stream.removeEventListener('remoteCloseWrite', done)
          stream.removeEventListener('close', done)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        stream.addEventListener('remoteCloseWrite', done)
        stream.addEventListener('close', done)
        signal?.addEventListener('abort', done)
      })
    },
    abort(reason) {
      stream.abort(reason)
    },
  }
}
