/**
 * What an untrusted roster update may add to ours. The update sits in a scratch document;
 * entries are copied in one by one, each only if it verifies, and nothing at all if any
 * event is a genesis other than the pinned one (the sender's roster is not this mesh's).
 * Events are copied before address and key records, so those are judged against the merged
 * membership.
 *
 * Of the fresh events that verify, only those that count, and those in the causal past of an
 * event that counts, are kept; the rest (signed by a machine that is not a member in the
 * event's causal past, or was removed) are refused, by why: ROSTER_NOT_MEMBER or
 * ROSTER_SIGNER_REMOVED. Not counting is for good: an event's causal past is fixed, and a
 * removal is never undone, so more events can only make an event count less, never more. An
 * event that is refused here counts on no copy, then; and one that later turns out to be in
 * the past of an event that counts comes back with it (an honest push carries every dep of
 * what it holds) and is kept then. So every copy still settles the same membership. Keeping
 * them instead let one participant grow every copy of the roster with events that count for
 * nothing, until welcomes and roster frames went over their limits.
 */
import type * as Y from 'yjs'
import { RosterEventInvalidError, RosterGenesisForeignError } from './errors.js'
import { decodeRosterEvent, type Membership, type RosterEvent } from './roster-events.js'
import type { RosterRecords } from './roster-records.js'

/** What one merge of an untrusted update did. */
export interface RosterMergeResult {
  /** Entries held or copied in. */
  accepted: number
  /** Entries refused; nothing of them was kept. */
  rejected: number
  /** Refused entries by error code. */
  refused: Record<string, number>
  /**
   * Events newly kept that count for nothing, by why: ROSTER_SIGNER_REMOVED (signed by a
   * removed machine) or ROSTER_NOT_MEMBER (by a machine that was not a member).
   */
  uncounted: Record<string, number>
}

export interface RosterMergeDeps {
  doc: Y.Doc
  events: Y.Map<Uint8Array>
  meshId: string
  pinned: () => string | undefined
  /** Keeps a verified event so that it is never decoded again. */
  remember: (id: string, event: RosterEvent) => void
  /** Drops the membership computed before the merge. */
  forget: () => void
  membership: () => Membership
  records: Pick<RosterRecords, 'mergeAddress' | 'mergeMeshKey'>
  /** Decodes and verifies one event's bytes; a roster passes what checkRemote verified ahead. Defaults to decodeRosterEvent. */
  decode?: (bytes: Uint8Array) => RosterEvent
  /** The events held now (decoded and verified). */
  held: () => RosterEvent[]
  /** Membership over a set of events. */
  compute: (events: RosterEvent[]) => Membership
  /** Told of each verified event refused for counting for nothing, so that its next push costs no signature check. */
  refusedUncounted?: (event: RosterEvent) => void
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Throws RosterGenesisForeignError, having kept nothing, if the scratch holds another genesis. */
export function mergeVerified(scratch: Y.Doc, deps: RosterMergeDeps): RosterMergeResult {
  const { doc, events, meshId, records } = deps
  const decode = deps.decode ?? decodeRosterEvent
  const pinned = deps.pinned()
  const result: RosterMergeResult = { accepted: 0, rejected: 0, refused: {}, uncounted: {} }
  const tally = (counts: Record<string, number>, code: string): void => void (counts[code] = (counts[code] ?? 0) + 1)
  const refuse = (err: unknown): void => {
    result.rejected++
    tally(result.refused, (err as { code?: string }).code ?? 'ROSTER_EVENT_INVALID')
  }
  // Every push carries the whole roster: an entry we already hold byte for byte was
  // verified when it arrived, so skip the signature checks (they dominate the cost).
  const held = (map: Y.Map<unknown>, key: string, value: unknown): boolean => {
    const ours = map.get(key)
    return ours instanceof Uint8Array && value instanceof Uint8Array && sameBytes(ours, value)
  }
  const fresh: Array<{ key: string; bytes: Uint8Array; event: RosterEvent }> = []
  for (const [key, value] of scratch.getMap<unknown>('events')) {
    if (held(events as Y.Map<unknown>, key, value)) {
      result.accepted++
      continue
    }
    try {
      if (!(value instanceof Uint8Array)) throw new RosterEventInvalidError('entry is not bytes')
      const bytes = value.slice()
      const event = decode(bytes)
      if (event.id !== key) throw new RosterEventInvalidError('map key is not the event id')
      if (event.body.mesh !== meshId) throw new RosterEventInvalidError('event is for another mesh')
      if (event.body.type === 'genesis' && event.id !== pinned) throw new RosterGenesisForeignError(event.id, pinned)
      fresh.push({ key, bytes, event })
    } catch (err) {
      if (err instanceof RosterGenesisForeignError) throw err
      refuse(err)
    }
  }
  if (fresh.length > 0) {
    const all = new Map<string, RosterEvent>()
    for (const event of deps.held()) all.set(event.id, event)
    for (const { event } of fresh) all.set(event.id, event)
    const settled = deps.compute([...all.values()])
    const pendingIds = new Set(settled.pending)
    // What counts, and everything in its causal past.
    const keep = new Set<string>()
    const stack = [...settled.valid]
    while (stack.length > 0) {
      const id = stack.pop() as string
      if (keep.has(id)) continue
      keep.add(id)
      for (const dep of all.get(id)?.body.deps ?? []) if (!keep.has(dep) && all.has(dep)) stack.push(dep)
    }
    for (let i = fresh.length - 1; i >= 0; i--) {
      const { key, event } = fresh[i] as (typeof fresh)[number]
      if (keep.has(key)) continue
      fresh.splice(i, 1)
      result.rejected++
      // Waiting on deps that are nowhere (not in the frame, not held) is a dep on nothing that counts.
      tally(result.refused, pendingIds.has(key) ? 'ROSTER_EVENT_INVALID' : settled.removed.has(event.body.signer) ? 'ROSTER_SIGNER_REMOVED' : 'ROSTER_NOT_MEMBER')
      deps.refusedUncounted?.(event)
    }
  }
  const each = (name: string, mergeEntry: (key: string, bytes: Uint8Array) => void): void => {
    const ours = doc.getMap<unknown>(name)
    for (const [key, value] of scratch.getMap<unknown>(name)) {
      if (held(ours, key, value)) {
        result.accepted++
        continue
      }
      try {
        if (!(value instanceof Uint8Array)) throw new RosterEventInvalidError('entry is not bytes')
        mergeEntry(key, value.slice())
        result.accepted++
      } catch (err) {
        refuse(err)
      }
    }
  }
  doc.transact(() => {
    for (const { key, bytes, event } of fresh) {
      result.accepted++
      deps.remember(key, event)
      events.set(key, bytes)
    }
    if (fresh.length > 0) deps.forget()
    each('addresses', records.mergeAddress)
    each('keys', records.mergeMeshKey)
  })
  if (fresh.length > 0) {
    const settled = deps.membership()
    const pending = new Set(settled.pending)
    for (const { key, event } of fresh) {
      if (settled.valid.has(key) || pending.has(key)) continue
      tally(result.uncounted, settled.removed.has(event.body.signer) ? 'ROSTER_SIGNER_REMOVED' : 'ROSTER_NOT_MEMBER')
    }
  }
  return result
}
