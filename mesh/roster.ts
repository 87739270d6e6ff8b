/**
 * The roster: the signed list of machines in one mesh, kept in a Yjs document so it syncs
 * like every other document. Three maps, every value a signed, immutable entry:
 *
 *   events    event id → stored roster event (genesis/add/remove/witness; see roster-events.ts)
 *   addresses peer id → the machine's own signed address record (newest `at` wins)
 *   keys      epoch → a member's signed record sealing that mesh key to every member
 *
 * Participants are members and witnesses. A witness votes in the election but never leads,
 * signs no event and is sealed no mesh key; only its address record is kept.
 *
 * Remote updates are untrusted: they land in a scratch document and only entries that
 * verify are copied in as our own. Membership is recomputed from the events (see
 * roster-events.ts), never stored.
 *
 * A mesh has one genesis, pinned by this machine when it founds the mesh or adopts the
 * roster a welcome carries, and kept in the store (see roster-genesis.ts). An update that
 * carries any other genesis is refused whole; so is any update before a genesis is pinned.
 */
import * as Y from 'yjs'
import { fingerprint, fromHex, keyPairFromSeed, toHex } from '../identity/index.js'
import type { MeshKey } from '../identity/index.js'
import { RosterEventInvalidError, RosterGenesisForeignError, RosterGenesisMissingError, RosterMemberNotFoundError, RosterNotMemberError } from './errors.js'
import { AGENT_SIGNER, MAX_EVENT_DEPS, computeMembership, decodeRosterEvent, encodeRosterEvent, machinePeerId, meshIdFromAgentKey, rosterEventId } from './roster-events.js'
import type { Membership, MembershipEntry, RosterEvent, RosterEventType } from './roster-events.js'
import { genesesIn, pinStoredGenesis, scratchOf, soleGenesis, type RosterRepairs } from './roster-genesis.js'
import { mergeVerified, type RosterMergeResult } from './roster-merge.js'
import { MAX_ADDRESS_LENGTH, MAX_ADDRESSES, createRosterRecords } from './roster-records.js'

export type { RosterMergeResult } from './roster-merge.js'
export type { RosterRepairs } from './roster-genesis.js'

/**
 * Persistence port: every local document update is appended; all are replayed on creation.
 * The pinned genesis is kept beside them; a store without the two genesis methods keeps it in
 * memory only, and it is pinned again from the stored events on the next load.
 */
export interface RosterStore {
  load(): Uint8Array[]
  append(update: Uint8Array): void
  /** The genesis event id this machine pinned; undefined before it founded or joined a mesh, and in a store made before pinning. */
  loadGenesis?(): string | undefined
  /** Durable before it returns. */
  saveGenesis?(genesisId: string): void
}

export interface RosterMember {
  peerId: string
  /** Ed25519 public key, lowercase hex. */
  publicKey: string
  name: string
  fingerprint: string
  /** Peer id of the member that added it, or 'agent' for the founding machine. */
  addedBy: string
  addedAt: number
  /** A witness votes in the election but never leads, signs nothing and holds no key. */
  role: 'member' | 'witness'
}

export interface RosterDeps {
  agentPublicKey: Uint8Array
  store?: RosterStore
  /** This machine's Ed25519 public key; picks the genesis to pin in an old store that holds several. */
  self?: Uint8Array
}

/** How checkRemote shares the event loop. */
export interface RosterCheckTurn {
  now(): number
  pause(): Promise<void>
  turnMs?: number
}

export interface RosterChangeEvent {
  members: RosterMember[]
  witnesses: RosterMember[]
}

/**
 * One mesh's roster. Local writes sign with the seed given and throw RosterNotMemberError
 * when the signer is not a current member; bad names, keys or times are
 * RosterEventInvalidError. Time is always passed in as `now` (ms).
 */
export interface Roster {
  readonly meshId: string
  readonly doc: Y.Doc
  /** What loading the store repaired (a store made before genesis pinning). */
  readonly repairs: RosterRepairs
  /** The genesis this machine pinned (the one it founded or was welcomed with); undefined before either. */
  genesis(): string | undefined
  /** Writes and pins the genesis (agent-signed, adds the founder); RosterEventInvalidError if one is pinned or the seed is not the agent's. */
  found(agentSeed: Uint8Array, founder: { publicKey: Uint8Array; name: string }, now: number): void
  /**
   * Pins the one genesis a welcome's roster carries and merges the roster. Nothing is kept
   * if ROSTER_GENESIS_MISSING (it holds none signed by the agent key) or ROSTER_GENESIS_FOREIGN
   * (it holds several, or another one than this machine pinned); ROSTER_EVENT_INVALID if malformed.
   */
  adopt(update: Uint8Array): RosterMergeResult
  /** Returns the event id (the existing one if already a member); RosterNotMemberError if the subject was removed. */
  add(signerSeed: Uint8Array, subject: { publicKey: Uint8Array; name: string }, now: number): string
  /**
   * Adds a witness (votes, never leads); returns the event id (the existing one if already a witness).
   * RosterNotMemberError if the signer is not a member or the subject was removed; RosterEventInvalidError if it is a member.
   */
  addWitness(signerSeed: Uint8Array, subject: { publicKey: Uint8Array; name: string }, now: number): string
  /** A member may remove itself. RosterMemberNotFoundError if the subject is neither member nor witness; idempotent once removed. */
  remove(signerSeed: Uint8Array, subjectPublicKey: Uint8Array, now: number): string
  /** Members only, sorted by addedAt, then peer id. */
  members(): RosterMember[]
  member(peerId: string): RosterMember | undefined
  isMember(peerId: string): boolean
  /** Witnesses only, sorted by addedAt, then peer id. */
  witnesses(): RosterMember[]
  isWitness(peerId: string): boolean
  /** A member or a witness: the machines allowed to connect. */
  isParticipant(peerId: string): boolean
  /** The member or witness with this peer id. */
  participant(peerId: string): RosterMember | undefined
  /** Members, then witnesses: every machine allowed to connect. */
  participants(): RosterMember[]
  wasRemoved(peerId: string): boolean
  /** A member or witness by exact peer id, fingerprint (dashes optional) or name; RosterMemberNotFoundError if none or ambiguous. */
  find(query: string): RosterMember
  publishAddresses(seed: Uint8Array, addresses: string[], now: number): void
  /** The newest record of a current member or witness; [] for anyone else. */
  addressesOf(peerId: string): string[]
  /** Seals `key` to every current member (never a witness), signer included; epochs start at 1 and are published once. */
  publishMeshKey(signerSeed: Uint8Array, key: MeshKey, now: number): void
  /** The epochs sealed to this machine by current members, sorted by epoch. */
  meshKeysFor(keyPairSeed: Uint8Array): MeshKey[]
  /** 0 when none. */
  latestEpoch(): number
  encodeState(): Uint8Array
  encodeStateVector(): Uint8Array
  encodeDiff(stateVector: Uint8Array): Uint8Array
  /**
   * Merges an untrusted update (a whole state or an encodeDiff): copies in only entries
   * that verify. Throws, keeping nothing, RosterEventInvalidError when the update cannot be
   * decoded, RosterGenesisForeignError when it carries a genesis other than the pinned one,
   * RosterGenesisMissingError when no genesis is pinned yet.
   */
  applyRemote(update: Uint8Array): RosterMergeResult
  /**
   * Verifies ahead, a few at a time, the signatures of the events in `update` that this
   * roster does not hold, awaiting `turn.pause()` whenever it has worked `turn.turnMs` (default
   * 10 ms) by `turn.now()`; an applyRemote of the same update right after then reuses them and
   * takes one short turn. A roster frame may carry some 2,000 events whose checks take seconds
   * in all: a peer's frame must not hold the event loop that long. Throws what applyRemote
   * throws for an update it cannot decode; bad events are left for applyRemote to refuse.
   */
  checkRemote(update: Uint8Array, turn: RosterCheckTurn): Promise<void>
  /** After any change to membership, addresses or keys, local or remote. Returns unsubscribe. */
  on(event: 'roster:change', fn: (e: RosterChangeEvent) => void): () => void
  destroy(): void
}

const normalizeFingerprint = (text: string): string => text.toLowerCase().replaceAll('-', '')

export function createRoster(deps: RosterDeps): Roster {
  const agentHex = toHex(deps.agentPublicKey)
  const meshId = meshIdFromAgentKey(deps.agentPublicKey)
  const doc = new Y.Doc()
  const events = doc.getMap<Uint8Array>('events')
  const addresses = doc.getMap<Uint8Array>('addresses')
  const keys = doc.getMap<Uint8Array>('keys')
  const decoded = new Map<string, RosterEvent | null>()
  const peerIds = new Map<string, string>()
  const listeners = new Set<(e: RosterChangeEvent) => void>()
  let membership: Membership | undefined
  let memberList: RosterMember[] | undefined
  let witnessList: RosterMember[] | undefined
  let byPeer: Map<string, RosterMember> | undefined
  let witnessByPeer: Map<string, RosterMember> | undefined
  let removedPeers: Set<string> | undefined
  let pinned: string | undefined
  let destroyed = false
  const forget = (): void => {
    membership = undefined
    memberList = undefined
    witnessList = undefined
    byPeer = undefined
    witnessByPeer = undefined
    removedPeers = undefined
  }

  const peerOf = (publicKeyHex: string): string => {
    let peerId = peerIds.get(publicKeyHex)
    if (peerId === undefined) {
      peerId = machinePeerId(fromHex(publicKeyHex))
      peerIds.set(publicKeyHex, peerId)
    }
    return peerId
  }

  /** Each stored event is decoded and verified once; one that fails is skipped for good. */
  const readEvent = (id: string, bytes: unknown): RosterEvent | null => {
    if (!decoded.has(id)) {
      let event: RosterEvent | null = null
      try {
        const candidate = decodeRosterEvent(bytes as Uint8Array)
        if (candidate.id === id && candidate.body.mesh === meshId) event = candidate
      } catch {
        event = null
      }
      decoded.set(id, event)
    }
    return decoded.get(id) ?? null
  }

  const state = (): Membership => {
    if (membership === undefined) {
      const all: RosterEvent[] = []
      for (const [id, bytes] of events) {
        const event = readEvent(id, bytes)
        if (event !== null) all.push(event)
      }
      membership = computeMembership(all, agentHex, meshId, pinned)
    }
    return membership
  }

  const listOf = (entries: Iterable<MembershipEntry>, role: RosterMember['role']): RosterMember[] =>
    [...entries]
      .map((entry) => ({
        peerId: peerOf(entry.publicKey),
        publicKey: entry.publicKey,
        name: entry.name,
        fingerprint: fingerprint(fromHex(entry.publicKey)),
        addedBy: entry.addedBy === AGENT_SIGNER ? AGENT_SIGNER : peerOf(entry.addedBy),
        addedAt: entry.addedAt,
        role,
      }))
      .sort((a, b) => a.addedAt - b.addedAt || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
  const memberEntries = (): RosterMember[] => (memberList ??= listOf(state().members.values(), 'member'))
  const witnessEntries = (): RosterMember[] => (witnessList ??= listOf(state().witnesses.values(), 'witness'))
  const members = (): RosterMember[] => memberEntries().map((m) => ({ ...m }))
  const witnesses = (): RosterMember[] => witnessEntries().map((m) => ({ ...m }))
  const participants = (): RosterMember[] => [...members(), ...witnesses()]
  // The gater, the stream guards and every sync batch ask these: answer from indexes built
  // once per membership change, not by copying and scanning the member list each time.
  const memberIndex = (): Map<string, RosterMember> => (byPeer ??= new Map(memberEntries().map((m) => [m.peerId, m])))
  const witnessIndex = (): Map<string, RosterMember> => (witnessByPeer ??= new Map(witnessEntries().map((m) => [m.peerId, m])))
  const removedIndex = (): Set<string> => {
    removedPeers ??= new Set([...state().removed.keys()].map((publicKey) => peerOf(publicKey)))
    return removedPeers
  }
  const isMember = (peerId: string): boolean => memberIndex().has(peerId)
  const isParticipant = (peerId: string): boolean => memberIndex().has(peerId) || witnessIndex().has(peerId)

  const records = createRosterRecords({ addresses, keys, meshId, members: () => state().members, removed: (publicKey) => state().removed.has(publicKey), known: (peerId) => isParticipant(peerId) || removedIndex().has(peerId), peerOf })

  const writeEvent = (seed: Uint8Array, type: Exclude<RosterEventType, 'genesis'>, subject: { publicKey: string; name: string }, now: number): string => {
    const signer = toHex(keyPairFromSeed(seed).publicKey)
    const deps = state().heads.slice(0, MAX_EVENT_DEPS)
    const { id, bytes } = encodeRosterEvent(seed, { v: 1, type, mesh: meshId, subject, signer, at: now, deps })
    decoded.set(id, decodeRosterEvent(bytes)) // refuses a bad name, key or time before anything is written
    doc.transact(() => events.set(id, bytes))
    return id
  }

  const assertMember = (seed: Uint8Array, what: string): void => {
    const signer = toHex(keyPairFromSeed(seed).publicKey)
    if (!state().members.has(signer)) throw new RosterNotMemberError(peerOf(signer), what)
  }

  const onTransaction = (tr: Y.Transaction): void => {
    const changed = new Set<unknown>(tr.changed.keys())
    if (![events, addresses, keys].some((map) => changed.has(map))) return
    if (changed.has(events)) forget()
    if (listeners.size === 0) return
    const payload = { members: members(), witnesses: witnesses() }
    for (const fn of [...listeners]) fn(payload)
  }

  const stored = deps.store?.load() ?? []
  for (const update of stored) {
    try {
      Y.applyUpdate(doc, update)
    } catch (cause) {
      doc.destroy()
      throw new RosterEventInvalidError('a stored roster update is malformed', { cause })
    }
  }
  const onUpdate = (update: Uint8Array): void => deps.store?.append(update)
  doc.on('update', onUpdate)
  doc.on('afterTransaction', onTransaction)

  const storedEvents = (): RosterEvent[] => [...events].map(([id, bytes]) => readEvent(id, bytes)).filter((e): e is RosterEvent => e !== null)
  const loaded = pinStoredGenesis({
    pinned: deps.store?.loadGenesis?.(),
    save: (id) => deps.store?.saveGenesis?.(id),
    events: storedEvents(),
    updates: stored,
    agentPublicKeyHex: agentHex,
    meshId,
    ...(deps.self === undefined ? {} : { self: toHex(deps.self) }),
  })
  pinned = loaded.pinned
  const repairs = loaded.repairs
  // Another genesis can only be in a store from before pinning. Drop it, or every push of
  // ours would carry it and our peers would refuse them whole.
  if (repairs.droppedGeneses.length > 0) {
    doc.transact(() => {
      for (const id of repairs.droppedGeneses) events.delete(id)
    })
  }

  // Events checkRemote verified (or refused) ahead of applyRemote, by id; bounded, and each
  // taken out when a merge uses it. The id is the hash of the bytes, so a hit is those bytes.
  const checked = new Map<string, RosterEvent | Error>()
  const MAX_CHECKED = 8192
  // Verified events refused for counting for nothing: a peer that keeps them pushes them again
  // and again, and each would cost a signature check.
  const uncounted = new Map<string, RosterEvent>()
  const decodeChecked = (bytes: Uint8Array): RosterEvent => {
    const id = rosterEventId(bytes)
    const seen = uncounted.get(id)
    if (seen !== undefined) return seen
    const hit = checked.get(id)
    if (hit === undefined) return decodeRosterEvent(bytes)
    checked.delete(id)
    if (hit instanceof Error) throw hit
    return hit
  }

  const merge = (scratch: Y.Doc): RosterMergeResult =>
    mergeVerified(scratch, {
      decode: decodeChecked,
      held: storedEvents,
      compute: (all) => computeMembership(all, agentHex, meshId, pinned),
      refusedUncounted: (event) => {
        if (uncounted.size >= MAX_CHECKED) uncounted.clear()
        uncounted.set(event.id, event)
      },
      doc,
      events,
      meshId,
      pinned: () => pinned,
      remember: (id, event) => void decoded.set(id, event),
      forget,
      membership: state,
      records,
    })

  const mergeUpdate = (update: Uint8Array): RosterMergeResult => {
    const scratch = scratchOf(update)
    try {
      return merge(scratch)
    } finally {
      scratch.destroy()
    }
  }

  return {
    meshId,
    doc,
    repairs,
    genesis: () => pinned,
    found(agentSeed, founder, now) {
      if (toHex(keyPairFromSeed(agentSeed).publicKey) !== agentHex) {
        throw new RosterEventInvalidError('the agent seed does not belong to this mesh')
      }
      if (pinned !== undefined) throw new RosterEventInvalidError('this mesh already has a genesis event')
      const { id, bytes } = encodeRosterEvent(agentSeed, { v: 1, type: 'genesis', mesh: meshId, subject: { publicKey: toHex(founder.publicKey), name: founder.name }, signer: agentHex, at: now, deps: [] })
      decoded.set(id, decodeRosterEvent(bytes)) // refuses a bad name or time before anything is written
      pinned = id
      forget()
      doc.transact(() => events.set(id, bytes))
      // The pin after the event: a crash between the two leaves one genesis in the store, pinned again on load.
      deps.store?.saveGenesis?.(id)
    },
    adopt(update) {
      const scratch = scratchOf(update)
      try {
        const id = soleGenesis(genesesIn(scratch.getMap('events'), meshId), agentHex)
        if (pinned !== undefined && pinned !== id) throw new RosterGenesisForeignError(id, pinned)
        const first = pinned === undefined
        pinned = id
        forget()
        let result: RosterMergeResult
        try {
          result = merge(scratch)
        } catch (err) {
          if (first) {
            pinned = undefined
            forget()
          }
          throw err
        }
        if (first) deps.store?.saveGenesis?.(id)
        return result
      } finally {
        scratch.destroy()
      }
    },
    add(signerSeed, subject, now) {
      assertMember(signerSeed, 'only a member can add a machine')
      const subjectHex = toHex(subject.publicKey)
      if (state().removed.has(subjectHex)) {
        throw new RosterNotMemberError(peerOf(subjectHex), 'it was removed from this mesh and cannot be added again')
      }
      const existing = state().members.get(subjectHex)
      if (existing !== undefined) return existing.eventId
      return writeEvent(signerSeed, 'add', { publicKey: subjectHex, name: subject.name }, now)
    },
    addWitness(signerSeed, subject, now) {
      assertMember(signerSeed, 'only a member can add a witness')
      const subjectHex = toHex(subject.publicKey)
      if (state().removed.has(subjectHex)) {
        throw new RosterNotMemberError(peerOf(subjectHex), 'it was removed from this mesh and cannot be added again')
      }
      if (state().members.has(subjectHex)) {
        throw new RosterEventInvalidError('it is already a member of this mesh; a member cannot also be a witness')
      }
      const existing = state().witnesses.get(subjectHex)
      if (existing !== undefined) return existing.eventId
      return writeEvent(signerSeed, 'witness', { publicKey: subjectHex, name: subject.name }, now)
    },
    remove(signerSeed, subjectPublicKey, now) {
      assertMember(signerSeed, 'only a member can remove a machine')
      const subjectHex = toHex(subjectPublicKey)
      const removal = state().removed.get(subjectHex)
      if (removal !== undefined) return removal
      const subject = state().members.get(subjectHex) ?? state().witnesses.get(subjectHex)
      if (subject === undefined) throw new RosterMemberNotFoundError(subjectHex)
      return writeEvent(signerSeed, 'remove', { publicKey: subjectHex, name: subject.name }, now)
    },
    members,
    member: (peerId) => {
      const m = memberIndex().get(peerId)
      return m === undefined ? undefined : { ...m }
    },
    isMember,
    witnesses,
    isWitness: (peerId) => witnessIndex().has(peerId),
    isParticipant,
    participants,
    participant: (peerId) => {
      const p = memberIndex().get(peerId) ?? witnessIndex().get(peerId)
      return p === undefined ? undefined : { ...p }
    },
    wasRemoved: (peerId) => removedIndex().has(peerId),
    find(query) {
      const all = participants()
      const wanted = normalizeFingerprint(query)
      for (const tier of [
        all.filter((m) => m.peerId === query),
        all.filter((m) => normalizeFingerprint(m.fingerprint) === wanted),
        all.filter((m) => m.name === query),
      ]) {
        if (tier.length > 1) throw new RosterMemberNotFoundError(query, true)
        if (tier[0] !== undefined) return tier[0]
      }
      throw new RosterMemberNotFoundError(query)
    },
    publishAddresses(seed, list, now) {
      if (list.length > MAX_ADDRESSES || list.some((a) => a.length === 0 || a.length > MAX_ADDRESS_LENGTH)) {
        throw new RosterEventInvalidError(`at most ${MAX_ADDRESSES} addresses of 1 to ${MAX_ADDRESS_LENGTH} characters`)
      }
      doc.transact(() => records.publishAddresses(seed, list, now))
    },
    addressesOf: (peerId) => (isParticipant(peerId) ? records.addressesOf(peerId) : []),
    publishMeshKey(signerSeed, key, now) {
      assertMember(signerSeed, 'only a member can publish a mesh key')
      doc.transact(() => records.publishMeshKey(signerSeed, key, now))
    },
    meshKeysFor: (seed) => records.meshKeysFor(seed),
    latestEpoch: () => records.latestEpoch(),
    encodeState: () => Y.encodeStateAsUpdate(doc),
    encodeStateVector: () => Y.encodeStateVector(doc),
    encodeDiff(stateVector) {
      try {
        return Y.encodeStateAsUpdate(doc, stateVector)
      } catch (cause) {
        throw new RosterEventInvalidError('malformed state vector', { cause })
      }
    },
    applyRemote(update) {
      if (pinned === undefined) throw new RosterGenesisMissingError('this machine has not founded or joined a mesh, so it takes no roster updates')
      return mergeUpdate(update)
    },
    async checkRemote(update, turn) {
      if (pinned === undefined) throw new RosterGenesisMissingError('this machine has not founded or joined a mesh, so it takes no roster updates')
      const turnMs = turn.turnMs ?? 10
      const scratch = scratchOf(update)
      const fresh: Uint8Array[] = []
      try {
        for (const [key, value] of scratch.getMap<unknown>('events')) {
          if (!(value instanceof Uint8Array)) continue
          const ours = events.get(key)
          if (ours !== undefined && ours.length === value.length && ours.every((b, i) => b === value[i])) continue
          fresh.push(value.slice())
        }
      } finally {
        scratch.destroy()
      }
      let turnStart = turn.now()
      for (const bytes of fresh) {
        if (destroyed) return
        const id = rosterEventId(bytes)
        if (!checked.has(id) && !decoded.has(id) && !uncounted.has(id)) {
          if (checked.size >= MAX_CHECKED) checked.clear()
          try {
            checked.set(id, decodeRosterEvent(bytes))
          } catch (err) {
            checked.set(id, err instanceof Error ? err : new RosterEventInvalidError('event does not decode'))
          }
        }
        if (turn.now() - turnStart >= turnMs) {
          await turn.pause()
          turnStart = turn.now()
        }
      }
    },
    on(_event, fn) {
      listeners.add(fn)
      return () => void listeners.delete(fn)
    },
    destroy() {
      if (destroyed) return
      destroyed = true
      listeners.clear()
      doc.off('update', onUpdate)
      doc.off('afterTransaction', onTransaction)
      doc.destroy()
    },
  }
}
