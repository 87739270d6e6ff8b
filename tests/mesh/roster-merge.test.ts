import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { generateMeshKey } from '../../identity/index.js'
import type { MeshKey } from '../../identity/index.js'
import { createRoster } from '../../mesh/roster.js'
import type { Roster } from '../../mesh/roster.js'
import { encodeRosterEvent, meshIdFromAgentKey } from '../../mesh/roster-events.js'
import type { RosterEventBody } from '../../mesh/roster-events.js'
import { ADDRESSES_CONTEXT, decodeMeshKeyRecord, sealEnvelope } from '../../mesh/roster-records.js'
import { hexOf, keyOf, peerOf, seedOf } from '../support/fixed-keys.js'

const AGENT = 1
const [A, B, C, D, E] = [10, 11, 12, 13, 14] as const

const opened: Roster[] = []
afterEach(() => {
  for (const roster of opened.splice(0)) roster.destroy()
})

function newRoster(agent = AGENT): Roster {
  const roster = createRoster({ agentPublicKey: keyOf(agent) })
  opened.push(roster)
  return roster
}

/** Two copies of one mesh (A founded it and added B), in sync. */
function pair(): [Roster, Roster] {
  const one = newRoster()
  one.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
  one.add(seedOf(A), { publicKey: keyOf(B), name: 'bravo' }, 2000)
  const two = newRoster()
  two.adopt(one.encodeState())
  return [one, two]
}

function sync(one: Roster, two: Roster): void {
  one.applyRemote(two.encodeDiff(one.encodeStateVector()))
  two.applyRemote(one.encodeDiff(two.encodeStateVector()))
}

/** An update carrying raw entries, as a hostile or buggy peer could send. */
function updateWith(entries: { map: string; key: string; value: unknown }[]): Uint8Array {
  const doc = new Y.Doc()
  for (const { map, key, value } of entries) doc.getMap(map).set(key, value)
  return Y.encodeStateAsUpdate(doc)
}

function event(signer: number, over: Partial<RosterEventBody>): { id: string; bytes: Uint8Array } {
  const body: RosterEventBody = { v: 1, type: 'add', mesh: meshIdFromAgentKey(keyOf(AGENT)), subject: { publicKey: hexOf(E), name: 'echo' }, signer: hexOf(signer), at: 5000, deps: [], ...over }
  return encodeRosterEvent(seedOf(signer), body)
}

const names = (roster: Roster): string[] => roster.members().map((m) => m.name)

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('convergence', () => {
  it('brings two rosters to identical members after exchanging diffs both ways', () => {
    const [one, two] = pair()
    expect(two.members()).toEqual(one.members())
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    two.add(seedOf(B), { publicKey: keyOf(D), name: 'delta' }, 3000)
    expect(names(one)).not.toEqual(names(two))
    sync(one, two)
    expect(names(one)).toEqual(['alpha', 'bravo', 'charlie', 'delta'])
    expect(two.members()).toEqual(one.members())
  })

  it('settles: syncing again copies nothing new', () => {
    const [one, two] = pair()
    sync(one, two)
    const before = one.doc.getMap('events').size
    let changes = 0
    one.on('roster:change', () => changes++)
    sync(one, two)
    expect(one.doc.getMap('events').size).toBe(before)
    expect(changes).toBe(0)
  })

  it('fires roster:change when a remote update changes membership', () => {
    const [one, two] = pair()
    const seen: string[][] = []
    two.on('roster:change', (e) => seen.push(e.members.map((m) => m.name)))
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    two.applyRemote(one.encodeState())
    expect(seen).toEqual([['alpha', 'bravo', 'charlie']])
  })

  it('keeps two copies founded on different geneses apart: each refuses the other whole', () => {
    const one = newRoster()
    const two = newRoster()
    one.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
    two.found(seedOf(AGENT), { publicKey: keyOf(B), name: 'bravo' }, 1000)
    const before = [one.encodeState(), two.encodeState()]
    expect(codeOf(() => one.applyRemote(two.encodeState()))).toBe('ROSTER_GENESIS_FOREIGN')
    expect(codeOf(() => two.applyRemote(one.encodeState()))).toBe('ROSTER_GENESIS_FOREIGN')
    expect([one.encodeState(), two.encodeState()]).toEqual(before)
    expect(names(one)).toEqual(['alpha'])
    expect(names(two)).toEqual(['bravo'])
  })
})

describe('signing rules across copies', () => {
  it('does not count an event signed before its signer was a member', () => {
    const [one] = pair()
    // C signs an add while it is not yet a member; A admits C afterwards, not knowing of it.
    const early = event(C, { deps: [...one.doc.getMap('events').keys()].sort() })
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 6000)
    // It can never count (its past holds no add of C), so it is refused, not kept.
    expect(one.applyRemote(updateWith([{ map: 'events', key: early.id, value: early.bytes }]))).toEqual({ accepted: 0, rejected: 1, refused: { ROSTER_NOT_MEMBER: 1 }, uncounted: {} })
    expect(one.doc.getMap('events').has(early.id)).toBe(false)
    expect(one.isMember(peerOf(C))).toBe(true)
    expect(one.isMember(peerOf(E))).toBe(false)
  })

  it('does not count an event signed by a machine that never was a member', () => {
    const [one] = pair()
    const outsider = event(D, { deps: [...one.doc.getMap('events').keys()].sort() })
    const stranger = newRoster()
    stranger.adopt(one.encodeState())
    stranger.doc.getMap('events').set(outsider.id, outsider.bytes)
    expect(one.applyRemote(stranger.encodeState())).toMatchObject({ rejected: 1, refused: { ROSTER_NOT_MEMBER: 1 } })
    expect(one.doc.getMap('events').has(outsider.id)).toBe(false)
    expect(names(one)).toEqual(['alpha', 'bravo'])
  })

  it('lets removal win over a concurrent add of the same machine, on both copies', () => {
    const [one, two] = pair()
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    one.remove(seedOf(A), keyOf(C), 4000)
    two.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3500)
    expect(two.isMember(peerOf(C))).toBe(true)
    sync(one, two)
    for (const roster of [one, two]) {
      expect(roster.isMember(peerOf(C))).toBe(false)
      expect(roster.wasRemoved(peerOf(C))).toBe(true)
    }
    expect(two.members()).toEqual(one.members())
  })

  it('drops machines added by a machine concurrently being removed, and what they added', () => {
    const [one, two] = pair()
    one.remove(seedOf(A), keyOf(B), 3000)
    two.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    two.add(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 3100)
    sync(one, two)
    expect(names(one)).toEqual(['alpha'])
    expect(two.members()).toEqual(one.members())
  })

  it('keeps a machine added by the removed one when the remover had seen that add', () => {
    const [one, two] = pair()
    two.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    sync(one, two)
    one.remove(seedOf(A), keyOf(B), 4000)
    sync(one, two)
    expect(names(one)).toEqual(['alpha', 'charlie'])
    expect(two.members()).toEqual(one.members())
  })

  it('removes both machines when two remove each other concurrently', () => {
    const [one, two] = pair()
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 2500)
    sync(one, two)
    one.remove(seedOf(A), keyOf(B), 3000)
    two.remove(seedOf(B), keyOf(A), 3000)
    sync(one, two)
    expect(names(one)).toEqual(['charlie'])
    expect(two.members()).toEqual(one.members())
  })
})

describe('one genesis', () => {
  /** An agent-signed genesis for this mesh, ground until its id sorts before `below`. */
  function groundGenesis(below: string, founder = D): { id: string; bytes: Uint8Array } {
    for (let at = 0; ; at++) {
      const candidate = event(AGENT, { type: 'genesis', subject: { publicKey: hexOf(founder), name: 'usurper' }, signer: hexOf(AGENT), at })
      if (candidate.id < below) return candidate
    }
  }

  it('refuses whole an update carrying a second agent genesis sorted before ours, keeping nothing of it', () => {
    const [one, two] = pair()
    const fake = groundGenesis(one.genesis() as string)
    two.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    const frame = new Y.Doc()
    Y.applyUpdate(frame, two.encodeState())
    frame.getMap('events').set(fake.id, fake.bytes)
    const before = one.encodeState()
    const error = (() => {
      try {
        one.applyRemote(Y.encodeStateAsUpdate(frame))
      } catch (err) {
        return err as { code?: string; genesisId?: string; pinnedId?: string }
      }
      return undefined
    })()
    expect(error).toMatchObject({ code: 'ROSTER_GENESIS_FOREIGN', genesisId: fake.id, pinnedId: one.genesis() })
    expect(one.encodeState()).toEqual(before)
    expect(names(one)).toEqual(['alpha', 'bravo'])
    frame.destroy()
  })

  it('refuses whole an update carrying a genesis signed by a machine key', () => {
    const [one] = pair()
    const forged = event(A, { type: 'genesis', subject: { publicKey: hexOf(D), name: 'delta' } })
    expect(codeOf(() => one.applyRemote(updateWith([{ map: 'events', key: forged.id, value: forged.bytes }])))).toBe('ROSTER_GENESIS_FOREIGN')
  })

  it('adopts the one genesis of a welcome, and refuses a welcome with none or with two', () => {
    const [one] = pair()
    const joiner = newRoster()
    expect(joiner.adopt(one.encodeState())).toMatchObject({ rejected: 0 })
    expect(joiner.genesis()).toBe(one.genesis())
    expect(joiner.members()).toEqual(one.members())

    const empty = newRoster()
    expect(codeOf(() => empty.adopt(updateWith([{ map: 'addresses', key: 'x', value: Uint8Array.of(1) }])))).toBe('ROSTER_GENESIS_MISSING')
    expect(empty.genesis()).toBeUndefined()

    const twice = new Y.Doc()
    Y.applyUpdate(twice, one.encodeState())
    const fake = groundGenesis('f'.repeat(64))
    twice.getMap('events').set(fake.id, fake.bytes)
    const victim = newRoster()
    expect(codeOf(() => victim.adopt(Y.encodeStateAsUpdate(twice)))).toBe('ROSTER_GENESIS_FOREIGN')
    expect(victim.genesis()).toBeUndefined()
    expect(victim.doc.getMap('events').size).toBe(0)
    twice.destroy()
  })

  it('refuses to adopt another genesis than the one it pinned', () => {
    const [one] = pair()
    const other = newRoster()
    other.found(seedOf(AGENT), { publicKey: keyOf(D), name: 'delta' }, 1000)
    expect(codeOf(() => one.adopt(other.encodeState()))).toBe('ROSTER_GENESIS_FOREIGN')
    expect(names(one)).toEqual(['alpha', 'bravo'])
  })
})

describe('a removed machine across copies', () => {
  /** Both copies know A, B and C; A then removes C on copy one only. */
  function removedOnOne(): [Roster, Roster] {
    const [one, two] = pair()
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 2500)
    sync(one, two)
    one.remove(seedOf(A), keyOf(C), 3000)
    return [one, two]
  }

  it('does not let a machine being removed remove another concurrently, on both copies', () => {
    const [one, two] = removedOnOne()
    two.remove(seedOf(C), keyOf(B), 3000)
    expect(two.isMember(peerOf(B))).toBe(false)
    sync(one, two)
    for (const roster of [one, two]) {
      expect(names(roster)).toEqual(['alpha', 'bravo'])
      expect(roster.wasRemoved(peerOf(C))).toBe(true)
      expect(roster.wasRemoved(peerOf(B))).toBe(false)
    }
  })

  it('refuses the fresh events of a removed signer, which can never count', () => {
    const [one, two] = removedOnOne()
    two.add(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 3000)
    const result = one.applyRemote(two.encodeState())
    expect(result).toMatchObject({ rejected: 1, refused: { ROSTER_SIGNER_REMOVED: 1 }, uncounted: {} })
    expect(one.isMember(peerOf(D))).toBe(false)
  })

  it('refuses the address and mesh key records of a removed machine', () => {
    const [one, two] = removedOnOne()
    two.publishAddresses(seedOf(C), ['/ip4/10.0.0.3/tcp/1'], 3000)
    two.publishMeshKey(seedOf(C), generateMeshKey(5), 3000)
    const update = updateWith([
      { map: 'addresses', key: peerOf(C), value: two.doc.getMap('addresses').get(peerOf(C)) },
      { map: 'keys', key: '5', value: two.doc.getMap('keys').get('5') },
    ])
    expect(one.applyRemote(update)).toEqual({ accepted: 0, rejected: 2, refused: { ROSTER_SIGNER_REMOVED: 2 }, uncounted: {} })
    expect(one.doc.getMap('addresses').has(peerOf(C))).toBe(false)
    expect(one.latestEpoch()).toBe(0)
  })

  it('ignores the mesh key record a machine published before it was removed', () => {
    const [one, two] = pair()
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 2500)
    sync(one, two)
    two.publishMeshKey(seedOf(C), generateMeshKey(1), 2600)
    sync(one, two)
    expect(one.meshKeysFor(seedOf(A))).toHaveLength(1)
    one.remove(seedOf(A), keyOf(C), 3000)
    sync(one, two)
    for (const roster of [one, two]) {
      expect(roster.latestEpoch()).toBe(0)
      expect(roster.meshKeysFor(seedOf(A))).toEqual([])
    }
  })
})

describe('witnesses across copies', () => {
  /** Both copies with C as a witness added by A. */
  function witnessedPair(): [Roster, Roster] {
    const [one, two] = pair()
    one.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    sync(one, two)
    return [one, two]
  }

  it('brings a witness to the other copy', () => {
    const [one, two] = witnessedPair()
    expect(two.isWitness(peerOf(C))).toBe(true)
    expect(two.witnesses()).toEqual(one.witnesses())
    expect(two.members()).toEqual(one.members())
  })

  it('does not count a witness event signed by a machine that never was a member, or by a witness', () => {
    const [one] = witnessedPair()
    const deps = [...one.doc.getMap('events').keys()].sort()
    const byOutsider = event(D, { type: 'witness', deps })
    const byWitness = event(C, { type: 'witness', deps, subject: { publicKey: hexOf(D), name: 'delta' } })
    const result = one.applyRemote(updateWith([
      { map: 'events', key: byOutsider.id, value: byOutsider.bytes },
      { map: 'events', key: byWitness.id, value: byWitness.bytes },
    ]))
    expect(result).toEqual({ accepted: 0, rejected: 2, refused: { ROSTER_NOT_MEMBER: 2 }, uncounted: {} })
    expect(one.isParticipant(peerOf(E))).toBe(false)
    expect(one.isParticipant(peerOf(D))).toBe(false)
    expect(one.witnesses().map((w) => w.peerId)).toEqual([peerOf(C)])
  })

  it('does not count an add or a remove signed by a witness', () => {
    const [one] = witnessedPair()
    const deps = [...one.doc.getMap('events').keys()].sort()
    const add = event(C, { deps })
    const removal = event(C, { type: 'remove', deps, subject: { publicKey: hexOf(B), name: 'bravo' } })
    one.applyRemote(updateWith([
      { map: 'events', key: add.id, value: add.bytes },
      { map: 'events', key: removal.id, value: removal.bytes },
    ]))
    expect(names(one)).toEqual(['alpha', 'bravo'])
    expect(one.isParticipant(peerOf(E))).toBe(false)
    expect(one.wasRemoved(peerOf(B))).toBe(false)
  })

  it('lets removal win over a concurrent witness event of the same machine, on both copies', () => {
    const [one, two] = pair()
    one.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    one.remove(seedOf(A), keyOf(C), 4000)
    two.addWitness(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3500)
    expect(two.isWitness(peerOf(C))).toBe(true)
    sync(one, two)
    for (const roster of [one, two]) {
      expect(roster.isParticipant(peerOf(C))).toBe(false)
      expect(roster.wasRemoved(peerOf(C))).toBe(true)
    }
  })

  it('lets an add win over a concurrent witness event of the same machine, on both copies', () => {
    const [one, two] = pair()
    one.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    two.addWitness(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 2500)
    sync(one, two)
    for (const roster of [one, two]) {
      expect(roster.isMember(peerOf(C))).toBe(true)
      expect(roster.isWitness(peerOf(C))).toBe(false)
    }
    expect(two.members()).toEqual(one.members())
  })

  it('drops a witness added by a machine concurrently being removed', () => {
    const [one, two] = pair()
    one.remove(seedOf(A), keyOf(B), 3000)
    two.addWitness(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    sync(one, two)
    for (const roster of [one, two]) expect(roster.witnesses()).toEqual([])
  })
})

describe('applyRemote on untrusted content', () => {
  it('rejects tampered event bytes, a wrong map key, another mesh and non-bytes, and counts them', () => {
    const [one] = pair()
    const deps = [...one.doc.getMap('events').keys()].sort()
    const good = event(A, { deps })
    const tampered = good.bytes.slice()
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 1
    const foreign = encodeRosterEvent(seedOf(A), { v: 1, type: 'add', mesh: meshIdFromAgentKey(keyOf(2)), subject: { publicKey: hexOf(D), name: 'delta' }, signer: hexOf(A), at: 5000, deps: [] })
    const wrongKey = event(A, { deps, subject: { publicKey: hexOf(D), name: 'delta' } })
    const before = one.encodeState()
    const result = one.applyRemote(updateWith([
      { map: 'events', key: good.id + '', value: tampered },
      { map: 'events', key: 'f'.repeat(64), value: wrongKey.bytes },
      { map: 'events', key: foreign.id, value: foreign.bytes },
      { map: 'events', key: 'x', value: 'not bytes' },
    ]))
    expect(result).toEqual({ accepted: 0, rejected: 4, refused: { ROSTER_EVENT_INVALID: 4 }, uncounted: {} })
    expect(one.encodeState()).toEqual(before)
    expect(names(one)).toEqual(['alpha', 'bravo'])
  })

  it('copies the entries that verify and skips the rest of the same update', () => {
    const [one] = pair()
    const good = event(A, { deps: [...one.doc.getMap('events').keys()].sort() })
    const result = one.applyRemote(updateWith([
      { map: 'events', key: good.id, value: good.bytes },
      { map: 'events', key: 'a'.repeat(64), value: Uint8Array.of(1, 2) },
    ]))
    expect(result).toEqual({ accepted: 1, rejected: 1, refused: { ROSTER_EVENT_INVALID: 1 }, uncounted: {} })
    expect(one.isMember(peerOf(E))).toBe(true)
  })

  it('throws ROSTER_EVENT_INVALID for every truncation of a real update, leaving the roster unchanged', () => {
    const [one, two] = pair()
    two.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    const update = two.encodeState()
    const before = one.encodeState()
    for (let n = 0; n < update.length; n++) {
      expect(codeOf(() => one.applyRemote(update.subarray(0, n))), `prefix ${n}`).toBe('ROSTER_EVENT_INVALID')
    }
    expect(one.encodeState()).toEqual(before)
  })

  it('throws ROSTER_EVENT_INVALID for an incremental update that leans on structs it does not carry', () => {
    const [one, two] = pair()
    const increments: Uint8Array[] = []
    two.doc.on('update', (u: Uint8Array) => increments.push(u))
    two.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    expect(codeOf(() => one.applyRemote(increments[0] as Uint8Array))).toBe('ROSTER_EVENT_INVALID')
    expect(one.isMember(peerOf(C))).toBe(false)
  })

  it('never throws anything but ROSTER_EVENT_INVALID on random updates, and never changes the roster (seeded; ROSTER_UPDATE_FUZZ_SEED replays)', () => {
    const [one] = pair()
    const before = one.encodeState()
    let state = Number(process.env.ROSTER_UPDATE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const seed = state
    const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
    for (let i = 0; i < 1000; i++) {
      const bytes = Uint8Array.from({ length: next() % 200 }, () => next() >>> 24)
      const code = codeOf(() => one.applyRemote(bytes))
      expect(code === undefined || code === 'ROSTER_EVENT_INVALID', `seed ${seed}, input ${i}: ${code} (replay with ROSTER_UPDATE_FUZZ_SEED=${seed})`).toBe(true)
    }
    expect(one.encodeState()).toEqual(before)
  })
})

describe('records across copies', () => {
  it('keeps the newest address record on both copies', () => {
    const [one, two] = pair()
    one.publishAddresses(seedOf(B), ['/ip4/10.0.0.1/tcp/1'], 5000)
    two.publishAddresses(seedOf(B), ['/ip4/10.0.0.2/tcp/1'], 6000)
    sync(one, two)
    expect(one.addressesOf(peerOf(B))).toEqual(['/ip4/10.0.0.2/tcp/1'])
    expect(two.addressesOf(peerOf(B))).toEqual(['/ip4/10.0.0.2/tcp/1'])
  })

  it('rejects an address record filed under another peer id or signed by another key', () => {
    const [one] = pair()
    const forged = sealEnvelope(ADDRESSES_CONTEXT, seedOf(C), JSON.stringify({ v: 1, publicKey: hexOf(B), addresses: ['/ip4/6.6.6.6/tcp/1'], at: 9000 }))
    const own = sealEnvelope(ADDRESSES_CONTEXT, seedOf(B), JSON.stringify({ v: 1, publicKey: hexOf(B), addresses: ['/ip4/6.6.6.6/tcp/1'], at: 9000 }))
    const result = one.applyRemote(updateWith([
      { map: 'addresses', key: peerOf(B), value: forged },
      { map: 'addresses', key: peerOf(A), value: own },
    ]))
    expect(result).toEqual({ accepted: 0, rejected: 2, refused: { ROSTER_EVENT_INVALID: 2 }, uncounted: {} })
    expect(one.addressesOf(peerOf(B))).toEqual([])
    expect(one.addressesOf(peerOf(A))).toEqual([])
  })

  it('settles two keys published for one epoch on the same key everywhere', () => {
    const [one, two] = pair()
    const keys = [generateMeshKey(1), generateMeshKey(1)]
    one.publishMeshKey(seedOf(A), keys[0] as MeshKey, 3000)
    two.publishMeshKey(seedOf(B), keys[1] as MeshKey, 3000)
    const sigs = [one, two].map((r) => decodeMeshKeyRecord(r.doc.getMap<Uint8Array>('keys').get('1') as Uint8Array).sig)
    const winner = keys[(sigs[0] as string) < (sigs[1] as string) ? 0 : 1]
    sync(one, two)
    sync(one, two)
    for (const roster of [one, two]) {
      expect(roster.meshKeysFor(seedOf(A))).toEqual([winner])
      expect(roster.meshKeysFor(seedOf(B))).toEqual([winner])
    }
  })

  it('rejects a key record from a machine that is not a member', () => {
    const [one] = pair()
    const outsider = newRoster()
    outsider.found(seedOf(AGENT), { publicKey: keyOf(D), name: 'delta' }, 1)
    outsider.publishMeshKey(seedOf(D), generateMeshKey(7), 3000)
    const update = updateWith([{ map: 'keys', key: '7', value: outsider.doc.getMap('keys').get('7') }])
    expect(one.applyRemote(update)).toEqual({ accepted: 0, rejected: 1, refused: { ROSTER_NOT_MEMBER: 1 }, uncounted: {} })
    expect(one.latestEpoch()).toBe(0)
  })
})
