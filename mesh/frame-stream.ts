/** Length-prefixed frames over a libp2p stream, with a size limit and a deadline per read. */
import type { Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'

export interface FrameStream {
  /** The next frame; without a signal it waits as long as the stream lives. */
  read(options?: { signal?: AbortSignal }): Promise<Uint8Array>
  write(frame: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  close(): Promise<void>
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
    abort(reason) {
      stream.abort(reason)
    },
  }
}
