/**
 * Roster events and the membership they imply.
 *
 *   body      = {v:1, type, mesh, subject:{publicKey,name}, signer, at, deps}, keys in that order
 *   stored    = the signed envelope of roster-records.ts, context 'instar/roster-event/v1'
 *   event id  = hex sha256(stored bytes)
 *
 * `genesis` is signed by the agent key and adds the founding machine; `add`, `remove` and
 * `witness` are signed by a member machine. deps are the ids of the heads the signer knew,
 * sorted. A witness votes in the election of a two-machine mesh but never leads: it holds
 * no key, receives no state and signs no roster event.
 *
 * Membership is a pure function of the events and the pinned genesis, the same on every
 * machine whatever order they arrived in:
 * - Events are ordered topologically by deps, ties by id. An event whose deps (or their
 *   deps) are not all present is pending: left out until they arrive.
 * - The genesis is the one this machine pinned when it founded the mesh or was welcomed into
 *   it (roster.ts). Any other genesis never counts, even one signed by the agent key: every
 *   member and every removed machine holds that key.
 * - An add, remove or witness counts only if its signer was a member in the state computed
 *   from the event's causal ancestors alone (what the signer could have known). Only
 *   genesis/add subjects can sign: a witness never can.
 * - A counted removal of a machine voids everything that machine signed outside the
 *   removal's causal past, of every type, with everything that depended on it: a removed
 *   machine changes nothing, whether it signs after its removal or pretends not to know of
 *   it. Two machines that remove each other concurrently are both removed (settleRemovals).
 * - Members are the subjects of counted genesis/add events minus the subjects of any
 *   counted remove: removal wins over a concurrent add; a removed machine never returns.
 * - Witnesses are the subjects of counted witness events minus members (member wins) and
 *   minus the subjects of any counted remove (removal wins, in either role).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { z } from 'zod'
import { domainSeparated, fromHex, toHex, x25519PublicFromEd25519 } from '../identity/index.js'
import { RosterEventInvalidError } from './errors.js'
import { hex64, openEnvelope, sealEnvelope, timestamp } from './roster-records.js'
import type { EntryCodec } from './roster-records.js'

export const ROSTER_EVENT_CONTEXT = 'instar/roster-event/v1'
export const MAX_EVENT_BYTES = 16_384
export const MAX_EVENT_DEPS = 64

export type RosterEventType = 'genesis' | 'add' | 'remove' | 'witness'

export interface RosterEventBody {
  v: 1
  type: RosterEventType
  mesh: string
  subject: { publicKey: string; name: string }
  signer: string
  at: number
  deps: string[]
}

/** A decoded event whose signature verified; `sig` is hex. */
export interface RosterEvent {
  id: string
  body: RosterEventBody
  sig: string
}

const eventCodec: EntryCodec<RosterEventBody> = {
  context: ROSTER_EVENT_CONTEXT,
  maxBytes: MAX_EVENT_BYTES,
  schema: z.strictObject({
    v: z.literal(1),
    type: z.enum(['genesis', 'add', 'remove', 'witness']),
    mesh: z.string().regex(/^m[0-9a-f]{32}$/),
    subject: z.strictObject({ publicKey: hex64, name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/) }),
    signer: hex64,
    at: timestamp,
    deps: z.array(hex64).max(MAX_EVENT_DEPS),
  }),
  canonical: (b) => ({
    v: 1,
    type: b.type,
    mesh: b.mesh,
    subject: { publicKey: b.subject.publicKey, name: b.subject.name },
    signer: b.signer,
    at: b.at,
    deps: [...new Set(b.deps)].sort(),
  }),
  signer: (b) => b.signer,
}

/** 'm' + hex of the first 16 bytes of sha256(domainSeparated('instar/mesh-id/v1', agent key)). */
export function meshIdFromAgentKey(agentPublicKey: Uint8Array): string {
  return 'm' + toHex(sha256(domainSeparated('instar/mesh-id/v1', agentPublicKey)).subarray(0, 16))
}

/** The libp2p peer id of a machine's Ed25519 public key (the one its seed gives libp2p). */
export function machinePeerId(publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

/** Signs a roster event; returns its stored bytes and id. Does not validate the body. */
export function encodeRosterEvent(seed: Uint8Array, body: RosterEventBody): { id: string; bytes: Uint8Array } {
  const bytes = sealEnvelope(ROSTER_EVENT_CONTEXT, seed, JSON.stringify(eventCodec.canonical(body)))
  return { id: toHex(sha256(bytes)), bytes }
}

/**
 * Decodes and verifies stored event bytes. Throws RosterEventInvalidError (with a reason)
 * on anything wrong and never anything else, whatever the input.
 */
export function decodeRosterEvent(stored: Uint8Array): RosterEvent {
  const { body, sig } = openEnvelope(stored, eventCodec)
  if (body.type === 'genesis' && body.deps.length > 0) throw new RosterEventInvalidError('genesis has deps')
  try {
    x25519PublicFromEd25519(fromHex(body.subject.publicKey))
  } catch (cause) {
    throw new RosterEventInvalidError('subject key is not an Ed25519 point', { cause })
  }
  return { id: rosterEventId(stored), body, sig }
}

/** An event's id: the hash of its stored bytes. Cheap next to the signature check. */
export function rosterEventId(stored: Uint8Array): string {
  return toHex(sha256(stored))
}

export const AGENT_SIGNER = 'agent'

export interface MembershipEntry {
  publicKey: string
  name: string
  /** Signer public key hex, or 'agent' for the genesis. */
  addedBy: string
  addedAt: number
  eventId: string
}

export interface Membership {
  /** Current members by public key hex. */
  members: Map<string, MembershipEntry>
  /** Current witnesses by public key hex; never a current member. */
  witnesses: Map<string, MembershipEntry>
  /** Removed machines: public key hex → id of the lowest-id remove that counts. */
  removed: Map<string, string>
  /** Ids of events that count. */
  valid: Set<string>
  /** Counted events no other counted event descends from, sorted; the deps of a new event. */
  heads: string[]
  /** Ids of events waiting for missing deps. */
  pending: string[]
  genesisId: string | undefined
}

class Bits {
  readonly words: Uint32Array
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32))
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) | (1 << (i & 31))
  }
  has(i: number): boolean {
    return ((this.words[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0
  }
  or(other: Bits): void {
    for (let w = 0; w < this.words.length; w++) this.words[w] = (this.words[w] ?? 0) | (other.words[w] ?? 0)
  }
  intersects(other: Bits): boolean {
    for (let w = 0; w < this.words.length; w++) if (((this.words[w] ?? 0) & (other.words[w] ?? 0)) !== 0) return true
    return false
  }
}

/** Kahn's algorithm; the ready set is kept sorted so ties always break by id. */
function topologicalOrder(byId: Map<string, RosterEvent>): RosterEvent[] {
  const waiting = new Map<string, number>()
  const children = new Map<string, string[]>()
  const ready: string[] = []
  for (const event of byId.values()) {
    waiting.set(event.id, event.body.deps.length)
    if (event.body.deps.length === 0) ready.push(event.id)
    for (const dep of event.body.deps) {
      const list = children.get(dep)
      if (list === undefined) children.set(dep, [event.id])
      else list.push(event.id)
    }
  }
  ready.sort()
  const order: RosterEvent[] = []
  while (ready.length > 0) {
    const id = ready.shift() as string
    order.push(byId.get(id) as RosterEvent)
    for (const child of children.get(id) ?? []) {
      const left = (waiting.get(child) ?? 0) - 1
      waiting.set(child, left)
      if (left === 0) {
        let at = 0
        while (at < ready.length && (ready[at] as string) < child) at++
        ready.splice(at, 0, child)
      }
    }
  }
  return order
}

const IN = 1
const OUT = -1

/**
 * A counted removal of machine X voids every event X signed that the removal did not have in
 * its causal past: what X signed while not knowing of its removal, or pretending not to
 * (leaving the removal out of its deps), is concurrent with it, and removal wins. The one
 * exception: two removals of each other's signer (A removes X while X removes A) cannot be
 * told apart from an honest race, so neither voids the other and both machines go.
 *
 * Voiding can chain and loop, so it is settled as the grounded extension of an argumentation
 * framework: an event no one contests is IN; what an IN removal voids is OUT; an event whose
 * every contester is OUT is IN; what is left (a loop of removals) is neither and never counts.
 * Unique for any set of events, so every machine settles the same way.
 */
function settleRemovals(order: RosterEvent[], ancestors: Bits[], valid: boolean[], signedBy: Map<string, number[]>): { label: Int8Array; contesters: number[][] } {
  const n = order.length
  const label = new Int8Array(n)
  const voids: number[][] = Array.from({ length: n }, () => [])
  const contesters: number[][] = Array.from({ length: n }, () => [])
  const contested = new Uint32Array(n)
  for (let r = 0; r < n; r++) {
    const removal = order[r] as RosterEvent
    if (!valid[r] || removal.body.type !== 'remove') continue
    for (const e of signedBy.get(removal.body.subject.publicKey) ?? []) {
      if (e === r || !valid[e] || (ancestors[r] as Bits).has(e)) continue
      const body = (order[e] as RosterEvent).body
      if (body.type === 'remove' && body.subject.publicKey === removal.body.signer) continue
      voids[r]?.push(e)
      contesters[e]?.push(r)
      contested[e] = (contested[e] ?? 0) + 1
    }
  }
  const queue: number[] = []
  for (let i = 0; i < n; i++) if (valid[i] && contested[i] === 0) queue.push(i)
  while (queue.length > 0) {
    const i = queue.pop() as number
    if (label[i] !== 0) continue
    label[i] = IN
    for (const target of voids[i] ?? []) {
      if (label[target] !== 0) continue
      label[target] = OUT
      for (const next of voids[target] ?? []) {
        contested[next] = (contested[next] ?? 1) - 1
        if (contested[next] === 0 && label[next] === 0) queue.push(next)
      }
    }
  }
  return { label, contesters }
}

/**
 * Settles which events count. `genesisId` is the genesis this machine pinned: no other
 * genesis ever counts, whoever signed it. Without one nothing counts.
 */
export function computeMembership(events: Iterable<RosterEvent>, agentPublicKeyHex: string, meshId: string, genesisId: string | undefined): Membership {
  const byId = new Map<string, RosterEvent>()
  for (const event of events) if (event.body.mesh === meshId) byId.set(event.id, event)
  const order = topologicalOrder(byId)
  const n = order.length
  const index = new Map<string, number>()
  order.forEach((event, i) => index.set(event.id, i))

  const ancestors: Bits[] = []
  const addsOf = new Map<string, number[]>()
  const removesOf = new Map<string, number[]>()
  const witnessesOf = new Map<string, number[]>()
  const signedBy = new Map<string, number[]>()
  const push = (lists: Map<string, number[]>, key: string, i: number): void => {
    const list = lists.get(key)
    if (list === undefined) lists.set(key, [i])
    else list.push(i)
  }
  let genesis: number | undefined
  for (let i = 0; i < n; i++) {
    const { body, id } = order[i] as RosterEvent
    const bits = new Bits(n)
    for (const dep of body.deps) {
      const d = index.get(dep) as number
      bits.set(d)
      bits.or(ancestors[d] as Bits)
    }
    ancestors.push(bits)
    // Witness events live apart from addsOf: memberIn reads only addsOf, so a witness never signs.
    push(body.type === 'remove' ? removesOf : body.type === 'witness' ? witnessesOf : addsOf, body.subject.publicKey, i)
    if (body.type === 'genesis') {
      if (id === genesisId && body.signer === agentPublicKeyHex) genesis = i
    } else {
      push(signedBy, body.signer, i)
    }
  }

  const dropped = new Uint8Array(n)
  let valid: boolean[] = []
  const memberIn = (bits: Bits, publicKey: string): boolean =>
    (addsOf.get(publicKey) ?? []).some((j) => valid[j] === true && bits.has(j)) &&
    !(removesOf.get(publicKey) ?? []).some((j) => valid[j] === true && bits.has(j))

  // Each round: which events are signed by a member of their own causal past (in topological
  // order, so every ancestor is settled first); then which of those a removal voids. Each
  // round drops at least one more event and drops only grow, so this ends within as many
  // rounds as there are events.
  for (;;) {
    valid = new Array<boolean>(n).fill(false)
    for (let i = 0; i < n; i++) {
      if (dropped[i] === 1) continue
      const { body } = order[i] as RosterEvent
      valid[i] = body.type === 'genesis' ? i === genesis : memberIn(ancestors[i] as Bits, body.signer)
    }
    const { label, contesters } = settleRemovals(order, ancestors, valid, signedBy)
    const unsettled = new Bits(n)
    let any = false
    for (let i = 0; i < n; i++) {
      if (valid[i] && label[i] !== IN) {
        unsettled.set(i)
        any = true
      }
    }
    if (!any) break
    // Drop first what is contested only by removals whose own past is settled: a removal
    // with a dropped event in its past may lose its signer's membership next round, and
    // then what it contested stands. Only when nothing is that clear, drop all at once.
    let grew = false
    for (let i = 0; i < n; i++) {
      if (!unsettled.has(i)) continue
      if ((contesters[i] ?? []).every((r) => !(ancestors[r] as Bits).intersects(unsettled))) {
        dropped[i] = 1
        grew = true
      }
    }
    if (!grew) for (let i = 0; i < n; i++) if (unsettled.has(i)) dropped[i] = 1
  }

  const result: Membership = {
    members: new Map(),
    witnesses: new Map(),
    removed: new Map(),
    valid: new Set(),
    heads: [],
    pending: [...byId.keys()].filter((id) => !index.has(id)).sort(),
    genesisId: genesis === undefined ? undefined : (order[genesis] as RosterEvent).id,
  }
  const covered = new Bits(n)
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue
    const { id, body } = order[i] as RosterEvent
    result.valid.add(id)
    covered.or(ancestors[i] as Bits)
    const subject = body.subject.publicKey
    if (body.type === 'remove') {
      const known = result.removed.get(subject)
      if (known === undefined || id < known) result.removed.set(subject, id)
      continue
    }
    const entry: MembershipEntry = {
      publicKey: subject,
      name: body.subject.name,
      addedBy: body.type === 'genesis' ? AGENT_SIGNER : body.signer,
      addedAt: body.at,
      eventId: id,
    }
    // Several counted adds (or witness events) of one machine: the earliest (then lowest id) names it.
    const role = body.type === 'witness' ? result.witnesses : result.members
    const known = role.get(subject)
    if (known === undefined || entry.addedAt < known.addedAt || (entry.addedAt === known.addedAt && id < known.eventId)) {
      role.set(subject, entry)
    }
  }
  for (const subject of result.removed.keys()) {
    result.members.delete(subject)
    result.witnesses.delete(subject)
  }
  for (const subject of result.members.keys()) result.witnesses.delete(subject)
  for (let i = 0; i < n; i++) if (valid[i] && !covered.has(i)) result.heads.push((order[i] as RosterEvent).id)
  result.heads.sort()
  return result
}
