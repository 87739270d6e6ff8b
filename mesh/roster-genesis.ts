/**
 * The one genesis of a mesh. Every member and every removed machine holds the agent key, so
 * anyone of them can sign another genesis for the same mesh id; what makes a genesis the
 * mesh's is that a machine pinned it: the one it founded the mesh with, or the one the
 * welcome it joined with carried. The pin (the genesis event id, a sha256 of its bytes) is
 * kept in state.db beside the roster; a roster update carrying any other genesis is refused
 * whole, and no other genesis ever counts (roster-events.ts).
 *
 * A data directory made before pinning holds no pin: its stored roster has one genesis, and
 * that one is pinned when the roster is loaded. Several are possible only where a forged one
 * was taken in before this check existed; see chooseStoredGenesis for which one wins.
 */
import * as Y from 'yjs'
import { RosterEventInvalidError, RosterGenesisForeignError, RosterGenesisMissingError, RosterUpdateTooCostlyError } from './errors.js'
import { computeMembership, decodeRosterEvent, type RosterEvent } from './roster-events.js'
import { MAX_ROSTER_UPDATE_STEPS, rosterUpdateSteps } from './roster-update-cost.js'

/**
 * An untrusted update in a scratch document of its own (the caller destroys it).
 * RosterEventInvalidError if it is malformed or leans on structs it does not carry;
 * RosterUpdateTooCostlyError, before anything is applied, if applying it would cost too much.
 */
export function scratchOf(update: Uint8Array): Y.Doc {
  const scratch = new Y.Doc()
  try {
    let steps: number
    try {
      // decodeUpdate (inside rosterUpdateSteps) refuses malformed bytes in microseconds;
      // applyUpdate alone can spend a second on some before it throws.
      steps = rosterUpdateSteps(update)
    } catch (cause) {
      throw new RosterEventInvalidError('malformed Yjs update', { cause })
    }
    // Applied whole, in one turn: what it may cost is bounded first (roster-update-cost.ts).
    if (steps > MAX_ROSTER_UPDATE_STEPS) throw new RosterUpdateTooCostlyError(steps, MAX_ROSTER_UPDATE_STEPS)
    try {
      Y.applyUpdate(scratch, update)
    } catch (cause) {
      throw new RosterEventInvalidError('malformed Yjs update', { cause })
    }
    // Peers re-insert what they receive as their own, so a whole state or a diff against
    // our state vector carries the sender's entries whole; missing structs mean damage.
    if (scratch.store.pendingStructs !== null || scratch.store.pendingDs !== null) {
      throw new RosterEventInvalidError('update refers to structs it does not carry')
    }
    return scratch
  } catch (err) {
    scratch.destroy()
    throw err
  }
}

/** The entries of an events map that are a verified genesis of this mesh, whoever signed them. */
export function genesesIn(events: Y.Map<unknown>, meshId: string): RosterEvent[] {
  const found: RosterEvent[] = []
  for (const [key, value] of events) {
    if (!(value instanceof Uint8Array)) continue
    try {
      const event = decodeRosterEvent(value)
      if (event.id === key && event.body.type === 'genesis' && event.body.mesh === meshId) found.push(event)
    } catch {
      continue // not an event at all: refused or skipped elsewhere
    }
  }
  return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The one genesis among `geneses`, signed by the agent key; throws if there is none or more than one. */
export function soleGenesis(geneses: RosterEvent[], agentPublicKeyHex: string): string {
  const byAgent = geneses.find((g) => g.body.signer === agentPublicKeyHex)
  if (byAgent === undefined) throw new RosterGenesisMissingError('the roster holds no genesis signed by the agent key')
  const other = geneses.find((g) => g.id !== byAgent.id)
  if (other !== undefined) throw new RosterGenesisForeignError(other.id, undefined)
  return byAgent.id
}

/**
 * The genesis a welcome's roster carries: exactly one, signed by the agent key. What a joiner
 * pins. ROSTER_EVENT_INVALID for a malformed update, ROSTER_GENESIS_MISSING for none,
 * ROSTER_GENESIS_FOREIGN for several.
 */
export function welcomeGenesis(update: Uint8Array, agentPublicKeyHex: string, meshId: string): string {
  const scratch = scratchOf(update)
  try {
    return soleGenesis(genesesIn(scratch.getMap('events'), meshId), agentPublicKeyHex)
  } finally {
    scratch.destroy()
  }
}

export interface StoredRoster {
  /** Every event the stored roster holds. */
  events: RosterEvent[]
  /** The stored updates, oldest first. */
  updates: Uint8Array[]
  agentPublicKeyHex: string
  meshId: string
  /** This machine's public key hex, when known. */
  self?: string
}

/**
 * Which genesis to pin in a stored roster that has no pin. The agent-signed genesis when there
 * is one. Of several (a forged one taken in before pinning existed, which the old rule of
 * "lowest id wins" let take over): the one this machine is a member under, if exactly one;
 * else the one in the oldest stored update (the founding or the welcome came before any
 * forgery), else the lowest id. Undefined when there is none (a machine that never founded
 * or joined).
 */
export function chooseStoredGenesis(stored: StoredRoster): string | undefined {
  const candidates = stored.events.filter((e) => e.body.type === 'genesis' && e.body.signer === stored.agentPublicKeyHex && e.body.mesh === stored.meshId)
  if (candidates.length <= 1) return candidates[0]?.id
  const self = stored.self
  if (self !== undefined) {
    const ours = candidates.filter((g) => computeMembership(stored.events, stored.agentPublicKeyHex, stored.meshId, g.id).members.has(self))
    if (ours.length === 1) return ours[0]?.id
  }
  const ids = new Set(candidates.map((g) => g.id))
  for (const update of stored.updates) {
    let structs: ReturnType<typeof Y.decodeUpdate>['structs']
    try {
      structs = Y.decodeUpdate(update).structs
    } catch {
      continue
    }
    const first = structs
      .map((s) => (s instanceof Y.Item ? s.parentSub : null))
      .filter((key): key is string => key !== null && ids.has(key))
      .sort()[0]
    if (first !== undefined) return first
  }
  return candidates.map((g) => g.id).sort()[0]
}

/** What loading a store made before genesis pinning repaired. */
export interface RosterRepairs {
  /** The genesis pinned from the stored events, when the store held no pin. */
  pinnedGenesis: string | undefined
  /** Other geneses found in the store, to drop from the document. */
  droppedGeneses: string[]
}

/**
 * The pin of a roster being loaded: the stored one, else the one chosen from the stored
 * events (then saved); and which other geneses the stored roster holds.
 */
export function pinStoredGenesis(stored: StoredRoster & { pinned: string | undefined; save: (genesisId: string) => void }): { pinned: string | undefined; repairs: RosterRepairs } {
  const repairs: RosterRepairs = { pinnedGenesis: undefined, droppedGeneses: [] }
  let pinned = stored.pinned
  if (pinned === undefined) {
    pinned = chooseStoredGenesis(stored)
    if (pinned !== undefined) {
      repairs.pinnedGenesis = pinned
      stored.save(pinned)
    }
  }
  repairs.droppedGeneses = stored.events.filter((e) => e.body.type === 'genesis' && e.id !== pinned).map((e) => e.id).sort()
  return { pinned, repairs }
}
