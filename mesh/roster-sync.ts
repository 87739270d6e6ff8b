/**
 * Binds the roster sync protocol to libp2p: push whole state to a member, take theirs in.
 * A frame carrying another genesis than ours is refused whole (ROSTER_GENESIS_FOREIGN); entries
 * that do not verify are refused one by one, and so are events that count for nothing and are
 * in the past of none that counts (roster-merge.ts); the few kept in such a past are logged by
 * why (ROSTER_SIGNER_REMOVED, ROSTER_NOT_MEMBER). Every refusal is logged with its code.
 *
 * A frame's signatures are checked in short turns (Roster.checkRemote) before it is merged in
 * one, and one peer's frames are taken one at a time: a frame of some 2,000 events costs
 * seconds of checks, which must neither hold the event loop nor multiply with streams.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { MeshError, RosterGenesisForeignError } from './errors.js'
import { frameStream } from './frame-stream.js'
import type { MeshLibp2p } from './host.js'
import type { Clock, Logger } from '../runtime/index.js'
import type { Roster } from './roster.js'
import { MAX_ROSTER_FRAME, ROSTER_SYNC_PROTOCOL, decodeRosterState, encodeRosterState } from './roster-sync-protocol.js'

export interface RosterSync {
  /** Sends our whole roster to one connected peer, resolved once the peer has taken it in (or gave up); failures are logged, never thrown. */
  push(peerId: string): Promise<void>
  handle(stream: Stream, connection: Connection): Promise<void>
}

export function createRosterSync(deps: { libp2p: MeshLibp2p; roster: () => Roster | null; logger: Logger; clock: Clock }, options: { timeoutMs?: number } = {}): RosterSync {
  const timeoutMs = options.timeoutMs ?? 10_000
  const pause = (): Promise<void> => new Promise<void>((resolve) => void deps.clock.setTimeout(resolve, 0))
  // Per peer, the frame being taken in; the next waits for it.
  const inFlight = new Map<string, Promise<void>>()
  return {
    async push(peerId) {
      const roster = deps.roster()
      if (roster === null) return
      const connection = deps.libp2p.getConnections().find((c) => c.remotePeer.toString() === peerId && c.status === 'open')
      if (connection === undefined) return
      try {
        const stream = await connection.newStream(ROSTER_SYNC_PROTOCOL, { signal: deps.clock.timeoutSignal(timeoutMs) })
        const frames = frameStream(stream, MAX_ROSTER_FRAME)
        await frames.write(encodeRosterState(roster.encodeState()), { signal: deps.clock.timeoutSignal(timeoutMs) })
        await frames.close()
        // Resolved once the peer took the frame in (it closes its end after): a removal closes
        // the connection right after this push, which must not cut the frame off.
        await frames.remoteClosed({ signal: deps.clock.timeoutSignal(timeoutMs) })
      } catch (err) {
        deps.logger.debug({ code: 'ROSTER_PUSH_FAILED', peerId, err: (err as Error).message }, 'roster push failed')
      }
    },
    async handle(stream, connection) {
      const peerId = connection.remotePeer.toString()
      const frames = frameStream(stream, MAX_ROSTER_FRAME)
      try {
        const update = decodeRosterState(await frames.read({ signal: deps.clock.timeoutSignal(timeoutMs) }))
        const previous = inFlight.get(peerId)
        let done = (): void => {}
        const mine = new Promise<void>((resolve) => (done = resolve))
        inFlight.set(peerId, mine)
        try {
          if (previous !== undefined) await previous
          const ready = deps.roster()
          if (ready === null) return
          await ready.checkRemote(update, { now: () => deps.clock.now(), pause })
        } finally {
          done()
          if (inFlight.get(peerId) === mine) inFlight.delete(peerId)
        }
        const roster = deps.roster()
        if (roster === null) return
        const result = roster.applyRemote(update)
        for (const [code, count] of Object.entries(result.refused)) deps.logger.warn({ code, peerId, count }, 'refused roster entries')
        for (const [code, count] of Object.entries(result.uncounted)) deps.logger.warn({ code, peerId, count }, 'kept roster events that count for nothing')
      } catch (err) {
        const fields = err instanceof RosterGenesisForeignError ? { genesis: err.genesisId, pinned: err.pinnedId } : {}
        // Ours carry their code; a frame over the limit is refused by the length prefix reader
        // (whose codes are libp2p's, not ours); anything else is the stream failing.
        const name = (err as { name?: unknown } | null)?.name
        const code = err instanceof MeshError ? err.code : name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError' ? 'ROSTER_FRAME_MALFORMED' : 'ROSTER_SYNC_FAILED'
        deps.logger.warn({ code, peerId, ...(err instanceof MeshError ? {} : { cause: name }), ...fields }, 'roster frame refused')
        frames.abort(err instanceof Error ? err : new Error('roster frame refused'))
        return
      }
      await frames.close()
    },
  }
}
