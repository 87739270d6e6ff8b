/**
 * Carries election messages between members over /instar/election/1.0.0: one outbound
 * stream per peer, opened on first use and dropped on any error (a message may be lost;
 * the election tolerates that). Inbound frames are decoded and handed to the election;
 * a malformed one is refused, logged with its code, and the stream stays up.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { frameStream, type FrameStream } from './frame-stream.js'
import { ELECTION_PROTOCOL, MAX_ELECTION_FRAME, decodeElectionMessage, encodeElectionMessage, type ElectionMessage } from './election-protocol.js'
import type { MeshLogger } from './logger.js'

export interface ElectionTransportDeps {
  logger: MeshLogger
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

export function createElectionTransport(deps: ElectionTransportDeps): ElectionTransport {
  const out = new Map<string, Promise<FrameStream | null>>()
  const counters = { messages: 0, bytes: 0 }

  const streamTo = (peerId: string): Promise<FrameStream | null> => {
    let pending = out.get(peerId)
    if (pending === undefined) {
      pending = deps
        .openStream(peerId, ELECTION_PROTOCOL, { signal: AbortSignal.timeout(2000) })
        .then((s) => frameStream(s, MAX_ELECTION_FRAME))
        .catch(() => {
          out.delete(peerId)
          return null
        })
      out.set(peerId, pending)
    }
    return pending
  }

  return {
    send(to, message) {
      const frame = encodeElectionMessage(message)
      void streamTo(to).then(async (frames) => {
        if (frames === null) return
        try {
          await frames.write(frame)
          counters.messages++
          counters.bytes += frame.length
        } catch {
          out.delete(to)
        }
      })
    },
    async handle(stream, connection) {
      const from = connection.remotePeer.toString()
      const frames = frameStream(stream, MAX_ELECTION_FRAME)
      for (;;) {
        let frame: Uint8Array
        try {
          frame = await frames.read({ signal: AbortSignal.timeout(24 * 60 * 60_000) })
        } catch {
          return
        }
        let message: ElectionMessage
        try {
          message = decodeElectionMessage(frame)
        } catch (err) {
          deps.logger.warn({ code: (err as { code?: string }).code ?? 'ELECTION_FRAME_MALFORMED', peerId: from }, 'election frame refused')
          continue
        }
        deps.deliver(from, message)
      }
    },
    drop(peerId) {
      const pending = out.get(peerId)
      out.delete(peerId)
      void pending?.then((f) => f?.abort(new Error('peer gone')))
    },
    close() {
      for (const peerId of [...out.keys()]) this.drop(peerId)
    },
    sent: () => ({ ...counters }),
  }
}
