import { afterEach, describe, expect, it } from 'vitest'
import { fingerprint, generateMeshKey } from '../../identity/index.js'
import { createRoster } from '../../mesh/roster.js'
import type { Roster, RosterChangeEvent, RosterStore } from '../../mesh/roster.js'
import { decodeRosterEvent, encodeRosterEvent, meshIdFromAgentKey } from '../../mesh/roster-events.js'
import { keyOf, peerOf, seedOf } from '../support/fixed-keys.js'

const AGENT = 1
const [A, B, C, D] = [10, 11, 12, 13] as const

const opened: Roster[] = []
afterEach(() => {
  for (const roster of opened.splice(0)) roster.destroy()
})

function newRoster(store?: RosterStore, self?: Uint8Array): Roster {
  const roster = createRoster({ agentPublicKey: keyOf(AGENT), store, ...(self === undefined ? {} : { self }) })
  opened.push(roster)
  return roster
}

/** A mesh founded by machine A, with B added by A. */
function founded(store?: RosterStore): Roster {
  const roster = newRoster(store)
  roster.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
  roster.add(seedOf(A), { publicKey: keyOf(B), name: 'bravo' }, 2000)
  return roster
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

/** A store as the daemon's state.db keeps one: the updates and the pinned genesis. */
function memoryStore(): RosterStore & { updates: Uint8Array[]; genesis: string | undefined } {
  const updates: Uint8Array[] = []
  const store = {
    updates,
    genesis: undefined as string | undefined,
    load: () => [...updates],
    append: (update: Uint8Array) => void updates.push(update),
    loadGenesis: () => store.genesis,
    saveGenesis: (id: string) => void (store.genesis = id),
  }
  return store
}

/** A store laid out before genesis pinning: updates only, no pin. */
function oldStore(updates: Uint8Array[] = []): RosterStore & { updates: Uint8Array[] } {
  return { updates, load: () => [...updates], append: (update) => void updates.push(update) }
}

const genesisIds = (roster: Roster): string[] =>
  [...roster.doc.getMap<Uint8Array>('events').values()].map((bytes) => decodeRosterEvent(bytes)).filter((e) => e.body.type === 'genesis').map((e) => e.id)

describe('founding and adding', () => {
  it('founds the mesh with the agent key and lists the founder as added by the agent', () => {
    const roster = newRoster()
    roster.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
    expect(roster.meshId).toBe(meshIdFromAgentKey(keyOf(AGENT)))
    expect(roster.members()).toEqual([
      { peerId: peerOf(A), publicKey: Buffer.from(keyOf(A)).toString('hex'), name: 'alpha', fingerprint: fingerprint(keyOf(A)), addedBy: 'agent', addedAt: 1000, role: 'member' },
    ])
  })

  it('refuses a second genesis and a genesis signed by another key', () => {
    const roster = newRoster()
    expect(codeOf(() => roster.found(seedOf(2), { publicKey: keyOf(A), name: 'alpha' }, 1000))).toBe('ROSTER_EVENT_INVALID')
    roster.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
    expect(codeOf(() => roster.found(seedOf(AGENT), { publicKey: keyOf(B), name: 'bravo' }, 1001))).toBe('ROSTER_EVENT_INVALID')
    expect(roster.members().map((m) => m.peerId)).toEqual([peerOf(A)])
  })

  it('lets a member add a machine and records who added it', () => {
    const roster = founded()
    roster.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    expect(roster.members().map((m) => [m.name, m.addedBy, m.addedAt])).toEqual([
      ['alpha', 'agent', 1000],
      ['bravo', peerOf(A), 2000],
      ['charlie', peerOf(B), 3000],
    ])
    expect(roster.isMember(peerOf(C))).toBe(true)
    expect(roster.member(peerOf(C))?.name).toBe('charlie')
  })

  it('sorts members added at the same time by peer id', () => {
    const roster = founded()
    roster.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    roster.add(seedOf(A), { publicKey: keyOf(D), name: 'delta' }, 3000)
    const tail = roster.members().slice(2).map((m) => m.peerId)
    expect(tail).toEqual([peerOf(C), peerOf(D)].sort())
  })

  it('refuses an add signed by a machine that is not a member', () => {
    const roster = founded()
    expect(codeOf(() => roster.add(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 3000))).toBe('ROSTER_NOT_MEMBER')
    expect(roster.isMember(peerOf(D))).toBe(false)
    expect(roster.doc.getMap('events').size).toBe(2)
  })

  it('refuses a bad machine name before writing anything', () => {
    const roster = founded()
    expect(codeOf(() => roster.add(seedOf(A), { publicKey: keyOf(C), name: 'has space' }, 3000))).toBe('ROSTER_EVENT_INVALID')
    expect(roster.doc.getMap('events').size).toBe(2)
  })

  it('returns the existing event when a member is added again', () => {
    const roster = founded()
    const first = roster.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    expect(roster.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 4000)).toBe(first)
    expect(roster.doc.getMap('events').size).toBe(3)
  })
})

describe('removing', () => {
  it('removes a member for good: it is no longer listed and cannot be added again', () => {
    const roster = founded()
    roster.remove(seedOf(A), keyOf(B), 3000)
    expect(roster.isMember(peerOf(B))).toBe(false)
    expect(roster.wasRemoved(peerOf(B))).toBe(true)
    expect(roster.wasRemoved(peerOf(A))).toBe(false)
    expect(codeOf(() => roster.add(seedOf(A), { publicKey: keyOf(B), name: 'bravo' }, 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(roster.members().map((m) => m.peerId)).toEqual([peerOf(A)])
  })

  it('lets a machine remove itself, after which it can sign nothing', () => {
    const roster = founded()
    roster.remove(seedOf(B), keyOf(B), 3000)
    expect(roster.wasRemoved(peerOf(B))).toBe(true)
    expect(codeOf(() => roster.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.remove(seedOf(B), keyOf(A), 4000))).toBe('ROSTER_NOT_MEMBER')
  })

  it('answers ROSTER_MEMBER_NOT_FOUND for a machine that is not a member', () => {
    const roster = founded()
    expect(codeOf(() => roster.remove(seedOf(A), keyOf(C), 3000))).toBe('ROSTER_MEMBER_NOT_FOUND')
  })

  it('returns the same removal when asked to remove a removed machine again', () => {
    const roster = founded()
    const id = roster.remove(seedOf(A), keyOf(B), 3000)
    expect(roster.remove(seedOf(A), keyOf(B), 4000)).toBe(id)
  })
})

describe('witnesses', () => {
  /** A founded mesh (A, B) with C added as a witness by A. */
  function witnessed(store?: RosterStore): Roster {
    const roster = founded(store)
    roster.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    return roster
  }

  it('lets a member add a witness, listed as a witness and not as a member', () => {
    const roster = witnessed()
    expect(roster.witnesses()).toEqual([
      { peerId: peerOf(C), publicKey: Buffer.from(keyOf(C)).toString('hex'), name: 'charlie', fingerprint: fingerprint(keyOf(C)), addedBy: peerOf(A), addedAt: 3000, role: 'witness' },
    ])
    expect(roster.members().map((m) => m.peerId)).toEqual([peerOf(A), peerOf(B)])
    expect(roster.isWitness(peerOf(C))).toBe(true)
    expect(roster.isMember(peerOf(C))).toBe(false)
    expect(roster.member(peerOf(C))).toBeUndefined()
    expect(roster.isParticipant(peerOf(C))).toBe(true)
    expect(roster.participant(peerOf(C))?.role).toBe('witness')
    expect(roster.isWitness(peerOf(A))).toBe(false)
    expect(roster.isParticipant(peerOf(A))).toBe(true)
    expect(roster.participant(peerOf(A))?.role).toBe('member')
    expect(roster.isParticipant(peerOf(D))).toBe(false)
    expect(roster.participant(peerOf(D))).toBeUndefined()
  })

  it('refuses a witness added by a machine that is not a member', () => {
    const roster = founded()
    expect(codeOf(() => roster.addWitness(seedOf(D), { publicKey: keyOf(C), name: 'charlie' }, 3000))).toBe('ROSTER_NOT_MEMBER')
    expect(roster.isWitness(peerOf(C))).toBe(false)
    expect(roster.doc.getMap('events').size).toBe(2)
  })

  it('lets a witness sign nothing: no add, remove, witness or mesh key', () => {
    const roster = witnessed()
    expect(codeOf(() => roster.add(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.addWitness(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.remove(seedOf(C), keyOf(B), 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.remove(seedOf(C), keyOf(C), 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.publishMeshKey(seedOf(C), generateMeshKey(1), 4000))).toBe('ROSTER_NOT_MEMBER')
    expect(roster.doc.getMap('events').size).toBe(3)
    expect(roster.latestEpoch()).toBe(0)
  })

  it('refuses to make a current member a witness', () => {
    const roster = founded()
    expect(codeOf(() => roster.addWitness(seedOf(A), { publicKey: keyOf(B), name: 'bravo' }, 3000))).toBe('ROSTER_EVENT_INVALID')
    expect(roster.isWitness(peerOf(B))).toBe(false)
    expect(roster.doc.getMap('events').size).toBe(2)
  })

  it('returns the existing event when a witness is added again', () => {
    const roster = founded()
    const first = roster.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    expect(roster.addWitness(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 4000)).toBe(first)
    expect(roster.doc.getMap('events').size).toBe(3)
  })

  it('makes a witness that is later added a member, and no longer a witness', () => {
    const roster = witnessed()
    roster.add(seedOf(B), { publicKey: keyOf(C), name: 'charlie' }, 4000)
    expect(roster.isMember(peerOf(C))).toBe(true)
    expect(roster.isWitness(peerOf(C))).toBe(false)
    expect(roster.witnesses()).toEqual([])
    expect(roster.participant(peerOf(C))?.role).toBe('member')
    roster.add(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 5000)
    expect(roster.isMember(peerOf(D))).toBe(true)
  })

  it('removes a witness for good: no longer listed, and never added again in either role', () => {
    const roster = witnessed()
    roster.remove(seedOf(B), keyOf(C), 4000)
    expect(roster.witnesses()).toEqual([])
    expect(roster.isParticipant(peerOf(C))).toBe(false)
    expect(roster.wasRemoved(peerOf(C))).toBe(true)
    expect(codeOf(() => roster.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 5000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 5000))).toBe('ROSTER_NOT_MEMBER')
    expect(roster.members().map((m) => m.peerId)).toEqual([peerOf(A), peerOf(B)])
  })

  it('finds a witness by peer id, fingerprint and name', () => {
    const roster = witnessed()
    const charlie = roster.participant(peerOf(C))
    expect(charlie?.role).toBe('witness')
    expect(roster.find(peerOf(C))).toEqual(charlie)
    expect(roster.find(fingerprint(keyOf(C)))).toEqual(charlie)
    expect(roster.find('charlie')).toEqual(charlie)
  })

  it('answers ROSTER_MEMBER_NOT_FOUND for a name a member and a witness share', () => {
    const roster = founded()
    roster.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'bravo' }, 3000)
    expect(codeOf(() => roster.find('bravo'))).toBe('ROSTER_MEMBER_NOT_FOUND')
    expect(roster.find(peerOf(C)).role).toBe('witness')
  })

  it('shows the address record a witness published about itself, and none once it is removed', () => {
    const roster = witnessed()
    roster.publishAddresses(seedOf(C), ['/ip4/10.0.0.4/tcp/4001'], 3500)
    expect(roster.addressesOf(peerOf(C))).toEqual(['/ip4/10.0.0.4/tcp/4001'])
    roster.remove(seedOf(A), keyOf(C), 4000)
    expect(roster.addressesOf(peerOf(C))).toEqual([])
  })

  it('seals no mesh key to a witness', () => {
    const roster = witnessed()
    const key = generateMeshKey(1)
    roster.publishMeshKey(seedOf(A), key, 4000)
    expect(roster.meshKeysFor(seedOf(A))).toEqual([key])
    expect(roster.meshKeysFor(seedOf(B))).toEqual([key])
    expect(roster.meshKeysFor(seedOf(C))).toEqual([])
  })

  it('restores a witness from its store', () => {
    const store = memoryStore()
    const first = witnessed(store)
    const listed = first.witnesses()
    first.destroy()
    const second = newRoster(store)
    expect(second.witnesses()).toEqual(listed)
    expect(second.isWitness(peerOf(C))).toBe(true)
    expect(second.members().map((m) => m.peerId)).toEqual([peerOf(A), peerOf(B)])
  })

  it('reports witnesses in roster:change', () => {
    const roster = founded()
    const seen: RosterChangeEvent[] = []
    roster.on('roster:change', (e) => seen.push(e))
    roster.addWitness(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    expect(seen.at(-1)?.witnesses.map((w) => [w.name, w.role])).toEqual([['charlie', 'witness']])
    expect(seen.at(-1)?.members.map((m) => m.name)).toEqual(['alpha', 'bravo'])
  })
})

describe('find', () => {
  it('finds a member by peer id, fingerprint with or without dashes, and name', () => {
    const roster = founded()
    const bravo = roster.member(peerOf(B))
    expect(roster.find(peerOf(B))).toEqual(bravo)
    expect(roster.find(fingerprint(keyOf(B)))).toEqual(bravo)
    expect(roster.find(fingerprint(keyOf(B)).replaceAll('-', '').toUpperCase())).toEqual(bravo)
    expect(roster.find('bravo')).toEqual(bravo)
  })

  it('answers ROSTER_MEMBER_NOT_FOUND for no match and for an ambiguous name', () => {
    const roster = founded()
    roster.add(seedOf(A), { publicKey: keyOf(C), name: 'bravo' }, 3000)
    expect(codeOf(() => roster.find('bravo'))).toBe('ROSTER_MEMBER_NOT_FOUND')
    expect(codeOf(() => roster.find('zulu'))).toBe('ROSTER_MEMBER_NOT_FOUND')
    roster.remove(seedOf(A), keyOf(C), 4000)
    expect(roster.find('bravo').peerId).toBe(peerOf(B))
  })
})

describe('addresses', () => {
  it('shows the newest record a member published about itself', () => {
    const roster = founded()
    roster.publishAddresses(seedOf(B), ['/ip4/10.0.0.2/tcp/4001'], 5000)
    roster.publishAddresses(seedOf(B), ['/ip4/10.0.0.3/tcp/4001'], 4000) // clock stepped back: still our newest
    expect(roster.addressesOf(peerOf(B))).toEqual(['/ip4/10.0.0.3/tcp/4001'])
  })

  it('ignores the record of a machine until it is a member, and again once removed', () => {
    const roster = founded()
    roster.publishAddresses(seedOf(C), ['/ip4/10.0.0.4/tcp/4001'], 3000)
    expect(roster.addressesOf(peerOf(C))).toEqual([])
    roster.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 4000)
    expect(roster.addressesOf(peerOf(C))).toEqual(['/ip4/10.0.0.4/tcp/4001'])
    roster.remove(seedOf(A), keyOf(C), 5000)
    expect(roster.addressesOf(peerOf(C))).toEqual([])
  })

  it('refuses more than 16 addresses or one longer than 256 characters', () => {
    const roster = founded()
    expect(codeOf(() => roster.publishAddresses(seedOf(A), Array.from({ length: 17 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`), 1))).toBe('ROSTER_EVENT_INVALID')
    expect(codeOf(() => roster.publishAddresses(seedOf(A), ['x'.repeat(257)], 1))).toBe('ROSTER_EVENT_INVALID')
    expect(roster.doc.getMap('addresses').size).toBe(0)
  })
})

describe('mesh keys', () => {
  it('seals a published key to every member, signer included', () => {
    const roster = founded()
    const key = generateMeshKey(1)
    roster.publishMeshKey(seedOf(A), key, 3000)
    expect(roster.latestEpoch()).toBe(1)
    expect(roster.meshKeysFor(seedOf(A))).toEqual([key])
    expect(roster.meshKeysFor(seedOf(B))).toEqual([key])
    expect(roster.meshKeysFor(seedOf(C))).toEqual([])
  })

  it('seals a key published after a removal to the remaining members only', () => {
    const roster = founded()
    roster.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 2500)
    const first = generateMeshKey(1)
    roster.publishMeshKey(seedOf(A), first, 3000)
    roster.remove(seedOf(A), keyOf(B), 4000)
    const second = generateMeshKey(2)
    roster.publishMeshKey(seedOf(C), second, 5000)
    expect(roster.latestEpoch()).toBe(2)
    expect(roster.meshKeysFor(seedOf(A))).toEqual([first, second])
    expect(roster.meshKeysFor(seedOf(C))).toEqual([first, second])
    expect(roster.meshKeysFor(seedOf(B))).toEqual([first])
  })

  it('refuses a key from a non-member, a taken epoch and epoch 0', () => {
    const roster = founded()
    expect(codeOf(() => roster.publishMeshKey(seedOf(C), generateMeshKey(1), 3000))).toBe('ROSTER_NOT_MEMBER')
    expect(codeOf(() => roster.publishMeshKey(seedOf(A), generateMeshKey(0), 3000))).toBe('ROSTER_EVENT_INVALID')
    roster.publishMeshKey(seedOf(A), generateMeshKey(1), 3000)
    expect(codeOf(() => roster.publishMeshKey(seedOf(B), generateMeshKey(1), 3000))).toBe('ROSTER_EVENT_INVALID')
    expect(roster.latestEpoch()).toBe(1)
  })

  it('reports epoch 0 when no key was published', () => {
    expect(founded().latestEpoch()).toBe(0)
  })
})

describe('persistence', () => {
  it('restores members, addresses and keys from its store, without appending them again', () => {
    const store = memoryStore()
    const first = founded(store)
    first.publishAddresses(seedOf(A), ['/ip4/127.0.0.1/tcp/4001'], 3000)
    const key = generateMeshKey(1)
    first.publishMeshKey(seedOf(A), key, 3000)
    first.remove(seedOf(A), keyOf(B), 4000)
    const stored = store.updates.length
    expect(stored).toBe(5)
    first.destroy()

    const second = newRoster(store)
    expect(store.updates.length).toBe(stored)
    expect(second.members().map((m) => m.peerId)).toEqual([peerOf(A)])
    expect(second.wasRemoved(peerOf(B))).toBe(true)
    expect(second.addressesOf(peerOf(A))).toEqual(['/ip4/127.0.0.1/tcp/4001'])
    expect(second.meshKeysFor(seedOf(A))).toEqual([key])
    second.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 5000)
    expect(store.updates.length).toBe(stored + 1)
  })

  it('refuses a store holding a malformed update', () => {
    const store = memoryStore()
    store.updates.push(Uint8Array.of(1, 2, 3))
    expect(codeOf(() => newRoster(store))).toBe('ROSTER_EVENT_INVALID')
  })
})

describe('the pinned genesis', () => {
  it('pins the genesis it founds with, in its store, after the event itself', () => {
    const store = memoryStore()
    let storedWhenPinned = -1
    store.saveGenesis = (id) => {
      storedWhenPinned = store.updates.length
      store.genesis = id
    }
    const roster = founded(store)
    expect(roster.genesis()).toBe(genesisIds(roster)[0])
    expect(store.genesis).toBe(roster.genesis())
    expect(storedWhenPinned).toBe(1)
  })

  it('keeps its pin across a restart and refuses to found again', () => {
    const store = memoryStore()
    const first = founded(store)
    const pin = first.genesis()
    first.destroy()
    const second = newRoster(store)
    expect(second.genesis()).toBe(pin)
    expect(second.repairs).toEqual({ pinnedGenesis: undefined, droppedGeneses: [] })
    expect(codeOf(() => second.found(seedOf(AGENT), { publicKey: keyOf(C), name: 'charlie' }, 9000))).toBe('ROSTER_EVENT_INVALID')
  })

  it('pins the one genesis of a store laid out before pinning, and saves the pin', () => {
    const old = oldStore()
    const first = founded(old)
    const pin = first.genesis()
    first.destroy()
    const store = memoryStore()
    store.updates.push(...old.updates)
    const second = newRoster(store)
    expect(second.genesis()).toBe(pin)
    expect(store.genesis).toBe(pin)
    expect(second.repairs).toEqual({ pinnedGenesis: pin, droppedGeneses: [] })
    expect(second.members().map((m) => m.name)).toEqual(['alpha', 'bravo'])
  })

  it('pins no genesis in an empty store, and then takes no remote update', () => {
    const roster = newRoster(memoryStore())
    expect(roster.genesis()).toBeUndefined()
    expect(codeOf(() => roster.applyRemote(founded().encodeState()))).toBe('ROSTER_GENESIS_MISSING')
    expect(roster.doc.getMap('events').size).toBe(0)
  })

  it('repairs a store that took in a forged genesis before pinning: pins the one it is a member under, drops the other', () => {
    // What the old code did on the attack: the forged genesis, sorted first, was kept beside ours.
    const old = oldStore()
    const first = founded(old)
    const real = first.genesis() as string
    let forged = encodeRosterEvent(seedOf(AGENT), { v: 1, type: 'genesis', mesh: first.meshId, subject: { publicKey: Buffer.from(keyOf(D)).toString('hex'), name: 'usurper' }, signer: Buffer.from(keyOf(AGENT)).toString('hex'), at: 0, deps: [] })
    for (let at = 1; forged.id > real; at++) {
      forged = encodeRosterEvent(seedOf(AGENT), { v: 1, type: 'genesis', mesh: first.meshId, subject: { publicKey: Buffer.from(keyOf(D)).toString('hex'), name: 'usurper' }, signer: Buffer.from(keyOf(AGENT)).toString('hex'), at, deps: [] })
    }
    first.doc.getMap('events').set(forged.id, forged.bytes)
    first.destroy()
    for (const self of [keyOf(B), undefined]) {
      const store = memoryStore()
      store.updates.push(...old.updates)
      const repaired = newRoster(store, self)
      expect(repaired.genesis()).toBe(real)
      expect(store.genesis).toBe(real)
      expect(repaired.repairs).toEqual({ pinnedGenesis: real, droppedGeneses: [forged.id] })
      expect(genesisIds(repaired)).toEqual([real])
      expect(repaired.members().map((m) => m.name)).toEqual(['alpha', 'bravo'])
      repaired.destroy()
      // The drop is stored: loading again finds nothing to repair.
      expect(newRoster(store).repairs).toEqual({ pinnedGenesis: undefined, droppedGeneses: [] })
    }
  })
})

describe('roster:change', () => {
  it('fires after membership, address and key changes, and stops after unsubscribe', () => {
    const roster = founded()
    const seen: RosterChangeEvent[] = []
    const off = roster.on('roster:change', (e) => seen.push(e))
    roster.add(seedOf(A), { publicKey: keyOf(C), name: 'charlie' }, 3000)
    expect(seen.at(-1)?.members.map((m) => m.name)).toEqual(['alpha', 'bravo', 'charlie'])
    roster.publishAddresses(seedOf(A), ['/ip4/127.0.0.1/tcp/1'], 3000)
    roster.publishMeshKey(seedOf(A), generateMeshKey(1), 3000)
    roster.remove(seedOf(A), keyOf(C), 4000)
    expect(seen).toHaveLength(4)
    expect(seen.at(-1)?.members.map((m) => m.name)).toEqual(['alpha', 'bravo'])
    off()
    roster.remove(seedOf(A), keyOf(B), 5000)
    expect(seen).toHaveLength(4)
  })

  it('does not fire for a refused write', () => {
    const roster = founded()
    let fired = 0
    roster.on('roster:change', () => fired++)
    codeOf(() => roster.add(seedOf(C), { publicKey: keyOf(D), name: 'delta' }, 3000))
    expect(fired).toBe(0)
  })
})
