/**
 * Writes Attacks (hostile-wire.ts) on real libp2p streams: a fresh stream for each one, or,
 * for sync, one long-lived stream per victim whose CREDIT frames are read and dropped. Raw
 * bytes go through @libp2p/utils' byteStream, so a length prefix may lie. A stream left
 * abandoned stays open and silent until the next attack of its protocol on that victim
 * (a peer may hold only a few streams of a protocol at a time), which resets it.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { byteStream, type ByteStream } from '@libp2p/utils'
import type { Clock } from '../runtime/index.js'
import type { Attack } from './hostile-wire.js'

export interface HostileDriver {
  /** Opens a fresh stream of the attack's protocol to `peerId` and writes it; false if the stream would not open or the write failed. */
  send(peerId: string, protocolId: string, attack: Attack): Promise<boolean>
  /** Resets every stream left open. */
  close(): void
}

export function createHostileDriver(libp2p: Libp2p, clock: Clock, options: { timeoutMs?: number } = {}): HostileDriver {
  const timeoutMs = options.timeoutMs ?? 10_000
  const abandoned = new Map<string, Stream>()
  return {
    async send(peerId, protocolId, attack) {
      const slot = `${protocolId} ${peerId}`
      abandoned.get(slot)?.abort(new Error('abandoned'))
      abandoned.delete(slot)
      const connection = libp2p.getConnections().find((c) => c.remotePeer.toString() === peerId && c.status === 'open')
      if (connection === undefined) return false
      let stream: Stream
      try {
        stream = await connection.newStream(protocolId, { signal: clock.timeoutSignal(timeoutMs) })
      } catch {
        return false
      }
      const ok = await writePieces(byteStream(stream), attack.pieces, clock, timeoutMs)
      if (attack.end === 'abandon' && ok) abandoned.set(slot, stream)
      else if (attack.end === 'abort' || !ok) stream.abort(new Error('hostile'))
      else await stream.close({ signal: clock.timeoutSignal(timeoutMs) }).catch(() => stream.abort(new Error('close failed')))
      return ok
    },
    close() {
      for (const stream of abandoned.values()) stream.abort(new Error('done'))
      abandoned.clear()
    },
  }
}

async function writePieces(bytes: ByteStream<Stream>, pieces: Uint8Array[], clock: Clock, timeoutMs: number): Promise<boolean> {
  try {
    for (const piece of pieces) if (piece.length > 0) await bytes.write(piece, { signal: clock.timeoutSignal(timeoutMs) })
    return true
  } catch {
    return false
  }
}

/** One long-lived sync stream to a victim: attacks are written on it in turn; the victim's credits are read and dropped. */
export interface SyncLink {
  readonly stream: Stream
  /** False once the stream ended (the victim reset it, or we did). */
  alive(): boolean
  write(pieces: Uint8Array[]): Promise<boolean>
  abort(): void
}

export async function openSyncLink(open: () => Promise<Stream>, clock: Clock, timeoutMs = 10_000): Promise<SyncLink | null> {
  let stream: Stream
  try {
    stream = await open()
  } catch {
    return null
  }
  const bytes = byteStream(stream)
  let alive = true
  void (async () => {
    try {
      while ((await bytes.read()) !== null);
    } catch {
      // reset by the victim
    }
    alive = false
  })()
  return {
    stream,
    alive: () => alive && stream.status === 'open',
    async write(pieces) {
      const ok = await writePieces(bytes, pieces, clock, timeoutMs)
      if (!ok) alive = false
      return ok
    },
    abort() {
      alive = false
      stream.abort(new Error('hostile'))
    },
  }
}
