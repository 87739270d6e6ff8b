/**
 * The fault suite's silent cut of one connection (never used outside the fault hooks): what a
 * pulled cable or a dropped route does to a TCP connection that stays open. Nothing the peer
 * sends is read (it waits unread in the socket), nothing we send leaves (it is held here), and
 * no FIN or RST goes out when this side gives the connection up (an abort only marks it closed
 * here). `release` ends the cut as a returning link does: a connection still open gets its held
 * bytes sent and reads again (TCP would retransmit them); one given up meanwhile is destroyed
 * now, which the peer learns of as it would once the link is back.
 *
 * It reaches into libp2p's TCP connection (the connection's `maConn`, its `socket` and its
 * send hooks), which no public API offers; a connection of another shape is not silenced and
 * `silenceConnection` returns null, so the caller falls back to closing it.
 */
import type { Connection } from '@libp2p/interface'

interface SocketLike {
  pause(): void
  resume(): void
  write(data: Uint8Array): boolean
  destroy(): void
  destroyed: boolean
}

interface TcpConnectionLike {
  socket: SocketLike
  status: string
  sendData(data: Iterable<Uint8Array>): { sentBytes: number; canSendMore: boolean }
  sendReset(err?: Error): void
  sendClose(options?: unknown): Promise<void>
  sendPause(): void
  sendResume(): void
}

/** The most bytes held for one silenced connection; past it the connection is given up (as TCP would after its retries). */
const MAX_HELD_BYTES = 16 * 1024 * 1024

function tcpConnectionOf(connection: Connection): TcpConnectionLike | null {
  const maConn = (connection as unknown as { maConn?: unknown }).maConn as Partial<TcpConnectionLike> | undefined
  const socket = maConn?.socket
  if (maConn === undefined || socket === undefined || typeof socket.pause !== 'function' || typeof maConn.sendData !== 'function') return null
  return maConn as TcpConnectionLike
}

/** Silences `connection` both ways until the returned release is called; null if it is not a TCP connection of libp2p's. */
export function silenceConnection(connection: Connection): (() => void) | null {
  const conn = tcpConnectionOf(connection)
  if (conn === null) return null
  const original = { sendData: conn.sendData, sendReset: conn.sendReset, sendClose: conn.sendClose, sendPause: conn.sendPause, sendResume: conn.sendResume }
  const held: Uint8Array[] = []
  let heldBytes = 0
  let givenUp = false
  conn.socket.pause()
  conn.sendData = (data) => {
    let sentBytes = 0
    for (const buf of data) {
      held.push(Uint8Array.from(buf))
      sentBytes += buf.byteLength
    }
    heldBytes += sentBytes
    if (heldBytes > MAX_HELD_BYTES) givenUp = true
    return { sentBytes, canSendMore: true }
  }
  conn.sendReset = () => {
    givenUp = true
  }
  conn.sendClose = async () => {
    givenUp = true
  }
  conn.sendPause = () => undefined
  conn.sendResume = () => undefined
  let released = false
  return () => {
    if (released) return
    released = true
    Object.assign(conn, original)
    if (givenUp || conn.status !== 'open') {
      if (!conn.socket.destroyed) conn.socket.destroy()
      return
    }
    for (const buf of held.splice(0)) conn.socket.write(buf)
    conn.socket.resume()
  }
}
