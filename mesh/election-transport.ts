/**
 * Carries election messages between members over /instar/election/1.0.0: one outbound
 * stream per peer, opened on first use and dropped on any error (a message may be lost;
 * the election tolerates that). Inbound frames are decoded and handed to the election;
 * a malformed one is refused, logged with its code, and the stream stays up.
 *
 * Nothing here throws into the caller or rejects unhandled: a message that will not encode
 * is dropped and logged, a failure while the election handles a message is logged with its
 * code (ELECTION_DELIVERY_FAILED) and the stream reads on.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { frameStream, type FrameStream } from './frame-stream.js'
import { ElectionDeliveryFailedError } from './election-errors.js'
import { ELECTION_PROTOCOL, MAX_ELECTION_FRAME, decodeElectionMessage, encodeElectionMessage, type ElectionMessage } from './election-protocol.js'
import type { Clock, Logger } from '../runtime/index.js'
import type { RefusalLog } from './refusal-log.js'

export interface ElectionTransportDeps {
  clock: Clock
  logger: Logger
  /** Where refused frames are counted and logged. */
  refusals: RefusalLog
  openStream(peerId: string, protocol: string, options: { signal: AbortSignal }): Promise<Stream>
  deliver(from: string, message: ElectionMessage): void
}

export interface ElectionTransport {
  send(to: string, message: ElectionMessage): void
  handle(stream: Stream, connection: Connection): Promise<void>
  drop(peerId: string): void
  close(): void
  /** Frames and bytes sent so far (length prefixes not counted). */
  sent(): { messages: number; bytes: number }
}

const codeOf = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : 'ELECTION_DELIVERY_FAILED'
}

export function createElectionTransport(deps: ElectionTransportDeps): ElectionTransport {
  const out = new Map<string, Promise<FrameStream | null>>()
  const counters = { messages: 0, bytes: 0 }

  const streamTo = (peerId: string): Promise<FrameStream | null> => {
    let pending = out.get(peerId)
    if (pending === undefined) {
      // Inside then(): an openStream that throws instead of rejecting is caught the same way.
      pending = Promise.resolve()
        .then(() => deps.openStream(peerId, ELECTION_PROTOCOL, { signal: deps.clock.timeoutSignal(2000) }))
        .then((s) => frameStream(s, MAX_ELECTION_FRAME))
        .catch(() => {
          // Not logged: an unreachable or refusing peer would log on every heartbeat; the next message tries again.
          out.delete(peerId)
          return null
        })
      out.set(peerId, pending)
    }
    return pending
  }

  return {
    send(to, message) {
      let frame: Uint8Array
      try {
        frame = encodeElectionMessage(message)
      } catch (err) {
        deps.logger.error({ code: codeOf(err), peerId: to, type: message.type }, 'election message not sent: it does not encode')
        return
      }
      void streamTo(to)
        .then(async (frames) => {
          if (frames === null) return
          try {
            await frames.write(frame)
            counters.messages++
            counters.bytes += frame.length
          } catch {
            // Not logged, for the same reason: the stream is dropped and the next message opens another.
            out.delete(to)
          }
        })
        .catch((err: unknown) => deps.logger.warn({ code: codeOf(err), peerId: to }, 'election message not sent'))
    },
    async handle(stream, connection) {
      const from = connection.remotePeer.toString()
      const frames = frameStream(stream, MAX_ELECTION_FRAME)
      for (;;) {
        let frame: Uint8Array
        try {
          frame = await frames.read()
        } catch (err) {
          // A frame over the limit cannot be skipped (its bytes would be read as frames): refuse
          // it and reset the stream. Anything else is the stream ending; it is done either way.
          const name = (err as { name?: unknown } | null)?.name
          if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') {
            deps.refusals.refuse('ELECTION_FRAME_MALFORMED', from, { reason: `a frame over ${MAX_ELECTION_FRAME} bytes` }, 'election frame refused; stream reset')
          }
          frames.abort(err instanceof Error ? err : new Error('election stream ended'))
          return
        }
        let message: ElectionMessage
        try {
          message = decodeElectionMessage(frame)
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'ELECTION_FRAME_MALFORMED'
          deps.refusals.refuse(code, from, { reason: (err as { reason?: string }).reason }, 'election frame refused')
          continue
        }
        try {
          deps.deliver(from, message)
        } catch (err) {
          const failure = new ElectionDeliveryFailedError(from, { cause: err })
          deps.logger.error({ code: failure.code, cause: (err as { code?: unknown } | null)?.code, peerId: from, type: message.type, err }, failure.message)
        }
      }
    },
    drop(peerId) {
      const pending = out.get(peerId)
      out.delete(peerId)
      void pending
        ?.then((f) => f?.abort(new Error('peer gone')))
        .catch((err: unknown) => deps.logger.debug({ code: codeOf(err), peerId }, 'election stream abort failed'))
    },
    close() {
      for (const peerId of [...out.keys()]) this.drop(peerId)
    },
    sent: () => ({ ...counters }),
  }
}
