/**
 * Stream-level guard: a connected peer that is not a roster member may open the pairing
 * protocol and nothing else. Our own protocols check membership in their handlers; the
 * built-in identify and ping handlers are re-registered wrapped in the same check.
 *
 * Reading the handlers identify and ping registered takes libp2p's private
 * `components.registrar`: the public API cannot read a handler, and its `use()` middleware is
 * unusable (in libp2p 3.3 the registrar's middleware array is appended to on every inbound
 * stream, so a handler would run more than once). tests/mesh/protocol-guard.test.ts pins the
 * libp2p version and fails when either internal changes.
 */
import type { Connection, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { MeshLibp2p } from './host.js'

export const BUILT_IN_PROTOCOLS = ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0'] as const

export type MemberCheck = (peerId: string) => boolean

/** Wraps a handler so that streams from non-members are reset before it sees them. */
export function membersOnly(isMember: MemberCheck, handler: StreamHandler, onRefused?: (peerId: string, protocol: string) => void): StreamHandler {
  return (stream: Stream, connection: Connection) => {
    const peerId = connection.remotePeer.toString()
    if (!isMember(peerId)) {
      onRefused?.(peerId, stream.protocol)
      stream.abort(new Error('not a member of this mesh'))
      return
    }
    return handler(stream, connection)
  }
}

/**
 * Wraps the pairing handler: once it has answered, a peer that is neither a member now nor
 * welcome to try again (no invitation is open) is hung up on, so that a late use of a used or
 * expired invitation gets its readable refusal on a short-lived connection and nothing more.
 */
export function hangUpAfterAnswer(
  handler: (stream: Stream, connection: Connection) => Promise<void>,
  mayStay: MemberCheck,
  onHangUp?: (peerId: string) => void,
): StreamHandler {
  return async (stream: Stream, connection: Connection) => {
    try {
      await handler(stream, connection)
    } finally {
      const peerId = connection.remotePeer.toString()
      if (!mayStay(peerId)) {
        onHangUp?.(peerId)
        // A close that fails is ended by the abort; the close's error says nothing more.
        await connection.close().catch(() => connection.abort(new Error('hung up after a pairing refusal')))
      }
    }
  }
}

interface RegistrarAccess {
  components: { registrar: { getHandler(protocol: string): { handler: StreamHandler; options: StreamHandlerOptions } } }
}

/** Re-registers identify and ping so that only members reach them. Call after start. */
export async function guardBuiltInProtocols(libp2p: MeshLibp2p, isMember: MemberCheck, onRefused?: (peerId: string, protocol: string) => void): Promise<void> {
  const registrar = (libp2p as unknown as RegistrarAccess).components.registrar
  for (const protocol of BUILT_IN_PROTOCOLS) {
    let record: { handler: StreamHandler; options: StreamHandlerOptions }
    try {
      record = registrar.getHandler(protocol)
    } catch {
      // Not registered (libp2p's UnhandledProtocolError, which says only that): nothing to guard.
      continue
    }
    await libp2p.handle(protocol, membersOnly(isMember, record.handler, onRefused), { ...record.options, force: true })
  }
}
