/**
 * Length-prefixed frames over a libp2p stream, with a size limit and a deadline per read.
 *
 * The length prefix is bounded too: lpStream checks its prefix length only once a varint
 * decodes, so a prefix of continuation bytes that never ends (0xff 0xff ...) was read a byte
 * at a time, without bound, until the stream ended, and then refused as a mere end of stream.
 * Our decoder refuses a prefix longer than the limit's own (InvalidDataLengthLengthError, which
 * the protocols log as a malformed frame) as soon as it is one byte too long.
 */
import type { Stream } from '@libp2p/interface'
import { InvalidDataLengthLengthError, lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import * as varint from 'uint8-varint'

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
  const maxLengthLength = varint.encodingLength(maxFrame)
  const lp: LengthPrefixedStream<Stream> = lpStream(stream, {
    maxDataLength: maxFrame,
    maxLengthLength,
    lengthDecoder: (data) => {
      if (data.byteLength > maxLengthLength) throw new InvalidDataLengthLengthError(`the length prefix runs past ${maxLengthLength} bytes`)
      return varint.decode(data)
    },
  })
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
