/**
 * /instar/roster/1.0.0: how the machines of a mesh (members and the witness) exchange the
 * roster document.
 *
 * Whenever a connection to a participant opens, and whenever the local roster changes, a node
 * opens a stream to each connected participant and sends one frame holding its whole roster
 * state as a Yjs update, then closes. The receiver applies it through `Roster.applyRemote`,
 * which keeps only entries that verify. The roster is small (tens of machines), so it is sent
 * whole every time; only the agent's documents use state-vector exchange (crdt/sync-protocol.ts).
 *
 * Frame (inside a length prefix): byte 0 version (1), byte 1 type (1 = ROSTER_STATE),
 * bytes 2.. the Yjs update.
 */
import { MeshError } from './errors.js'

export const ROSTER_SYNC_PROTOCOL = '/instar/roster/1.0.0'
export const MAX_ROSTER_FRAME = 1024 * 1024
export const VERSION = 1
/** The one message type: the sender's whole roster state. */
export const TYPE_STATE = 1

export class RosterFrameMalformedError extends MeshError {
  readonly reason: string
  constructor(reason: string) {
    super('ROSTER_FRAME_MALFORMED', `malformed roster frame: ${reason}`)
    this.reason = reason
  }
}

export function encodeRosterState(update: Uint8Array): Uint8Array {
  const frame = new Uint8Array(update.length + 2)
  frame[0] = VERSION
  frame[1] = TYPE_STATE
  frame.set(update, 2)
  return frame
}

/** Returns the Yjs update a frame carries; throws ROSTER_FRAME_MALFORMED on anything else. */
export function decodeRosterState(frame: Uint8Array): Uint8Array {
  if (frame.length < 3) throw new RosterFrameMalformedError(`${frame.length} bytes is too short`)
  if (frame.length > MAX_ROSTER_FRAME) throw new RosterFrameMalformedError(`${frame.length} bytes is over the ${MAX_ROSTER_FRAME}-byte limit`)
  if (frame[0] !== VERSION) throw new RosterFrameMalformedError(`version ${frame[0]} is not supported`)
  if (frame[1] !== TYPE_STATE) throw new RosterFrameMalformedError(`unknown message type ${frame[1]}`)
  return frame.subarray(2)
}
