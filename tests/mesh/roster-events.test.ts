import { createHash } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { domainSeparated, keyPairFromSeed } from '../../identity/index.js'
import {
  MAX_EVENT_DEPS,
  ROSTER_EVENT_CONTEXT,
  computeMembership,
  decodeRosterEvent,
  encodeRosterEvent,
  machinePeerId,
  meshIdFromAgentKey,
} from '../../mesh/roster-events.js'
import type { RosterEvent, RosterEventBody } from '../../mesh/roster-events.js'
import { sealEnvelope } from '../../mesh/roster-records.js'
import { mulberry32 as prng } from '../support/seeded-random.js'
import { hexOf, seedOf } from '../support/fixed-keys.js'

const AGENT = 1
const meshId = meshIdFromAgentKey(keyPairFromSeed(seedOf(AGENT)).publicKey)

function body(over: Partial<RosterEventBody> = {}): RosterEventBody {
  return { v: 1, type: 'add', mesh: meshId, subject: { publicKey: hexOf(20), name: 'laptop' }, signer: hexOf(10), at: 1000, deps: [], ...over }
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

/** Signs an arbitrary body text as a roster event, bypassing the canonical encoder. */
function signedText(signer: number, text: string): Uint8Array {
  return sealEnvelope(ROSTER_EVENT_CONTEXT, seedOf(signer), text)
}

describe('mesh id and peer id', () => {
  it('derives the mesh id as m + 16 bytes of sha256 over the domain-separated agent key', () => {
    const agent = keyPairFromSeed(seedOf(AGENT)).publicKey
    const expected = 'm' + createHash('sha256').update(domainSeparated('instar/mesh-id/v1', agent)).digest('hex').slice(0, 32)
    expect(meshIdFromAgentKey(agent)).toBe(expected)
    expect(expected).toMatch(/^m[0-9a-f]{32}$/)
    expect(meshIdFromAgentKey(keyPairFromSeed(seedOf(2)).publicKey)).not.toBe(expected)
  })

  it('gives the same peer id libp2p derives from the machine seed', async () => {
    for (const n of [3, 4, 200]) {
      const libp2pId = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seedOf(n))).toString()
      expect(machinePeerId(keyPairFromSeed(seedOf(n)).publicKey)).toBe(libp2pId)
    }
  })
})

describe('roster event codec', () => {
  it('round-trips an event and names it by the sha256 of its stored bytes', () => {
    const { id, bytes } = encodeRosterEvent(seedOf(10), body({ deps: ['b'.repeat(64), 'a'.repeat(64)] }))
    const event = decodeRosterEvent(bytes)
    expect(event.id).toBe(id)
    expect(id).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(event.body.deps).toEqual(['a'.repeat(64), 'b'.repeat(64)])
    expect(event.body.subject.name).toBe('laptop')
  })

  it('round-trips a witness event', () => {
    const { bytes } = encodeRosterEvent(seedOf(10), body({ type: 'witness', deps: ['a'.repeat(64)] }))
    expect(decodeRosterEvent(bytes).body.type).toBe('witness')
  })

  it('refuses an event whose stored bytes were altered anywhere', () => {
    const { bytes } = encodeRosterEvent(seedOf(10), body())
    const text = new TextDecoder().decode(bytes)
    const altered = [text.replace('"at\\":1000', '"at\\":1001'), text.replace('laptop', 'laptoq'), text.replace(/"sig":"(.)/, (_m, c: string) => `"sig":"${c === 'A' ? 'B' : 'A'}`)]
    for (const variant of altered) {
      expect(variant).not.toBe(text)
      expect(codeOf(() => decodeRosterEvent(new TextEncoder().encode(variant)))).toBe('ROSTER_EVENT_INVALID')
    }
  })

  it('refuses an event signed by another key than the one it names', () => {
    const { bytes } = encodeRosterEvent(seedOf(11), body({ signer: hexOf(10) }))
    expect(codeOf(() => decodeRosterEvent(bytes))).toBe('ROSTER_EVENT_INVALID')
  })

  it('refuses properly signed bodies that break the schema or the canonical form', () => {
    const good = body()
    const cases: Record<string, string> = {
      'extra field': JSON.stringify({ ...good, note: 'hi' }),
      'keys out of order': JSON.stringify({ type: good.type, v: 1, mesh: good.mesh, subject: good.subject, signer: good.signer, at: good.at, deps: [] }),
      whitespace: JSON.stringify(good, null, 1),
      'name with a space': JSON.stringify(body({ subject: { publicKey: hexOf(20), name: 'my laptop' } })),
      'name too long': JSON.stringify(body({ subject: { publicKey: hexOf(20), name: 'x'.repeat(65) } })),
      'empty name': JSON.stringify(body({ subject: { publicKey: hexOf(20), name: '' } })),
      'negative at': JSON.stringify(body({ at: -1 })),
      'fractional at': JSON.stringify(body({ at: 1.5 })),
      'unsafe at': JSON.stringify(body({ at: 2 ** 60 })),
      'upper-case hex': JSON.stringify(body({ subject: { publicKey: hexOf(20).toUpperCase(), name: 'x' } })),
      'unsorted deps': JSON.stringify(body({ deps: ['b'.repeat(64), 'a'.repeat(64)] })),
      'too many deps': JSON.stringify(body({ deps: Array.from({ length: MAX_EVENT_DEPS + 1 }, (_, i) => i.toString(16).padStart(64, '0')) })),
      'genesis with deps': JSON.stringify(body({ type: 'genesis', deps: ['a'.repeat(64)] })),
      'subject not a curve point': JSON.stringify(body({ subject: { publicKey: 'ff'.repeat(32), name: 'x' } })),
      'unknown type': JSON.stringify({ ...good, type: 'rename' }),
      'version 2': JSON.stringify({ ...good, v: 2 }),
    }
    for (const [what, text] of Object.entries(cases)) {
      expect(codeOf(() => decodeRosterEvent(signedText(10, text))), what).toBe('ROSTER_EVENT_INVALID')
    }
    expect(codeOf(() => decodeRosterEvent(signedText(10, JSON.stringify(good))))).toBeUndefined()
  })

  it('only ever throws RosterEventInvalidError on random, truncated and mutated bytes (seeded; ROSTER_DECODE_SEED replays)', () => {
    const seed = Number(process.env.ROSTER_DECODE_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const random = prng(seed)
    const { bytes } = encodeRosterEvent(seedOf(10), body({ deps: ['c'.repeat(64)] }))
    const inputs: Uint8Array[] = []
    for (let i = 0; i < 1000; i++) {
      const input = new Uint8Array(Math.floor(random() * 300))
      for (let j = 0; j < input.length; j++) input[j] = Math.floor(random() * 256)
      inputs.push(input)
    }
    for (let n = 0; n < bytes.length; n++) inputs.push(bytes.subarray(0, n))
    for (let i = 0; i < 300; i++) {
      const mutated = bytes.slice()
      const at = Math.floor(random() * mutated.length)
      mutated[at] = (mutated[at] ?? 0) ^ (1 + Math.floor(random() * 255))
      inputs.push(mutated)
    }
    const json = ['null', '[]', '{"body":{},"sig":""}', '{"body":"null","sig":""}', '[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]', '{"body":"' + '['.repeat(5000) + '","sig":"x"}']
    for (const text of json) inputs.push(new TextEncoder().encode(text))
    for (const [i, input] of inputs.entries()) {
      let error: unknown
      try {
        decodeRosterEvent(input)
      } catch (err) {
        error = err
      }
      expect((error as { code?: string } | undefined)?.code, `fuzz seed ${seed}, input ${i} (replay with ROSTER_DECODE_SEED=${seed})`).toBe('ROSTER_EVENT_INVALID')
      expect((error as Error).name, `fuzz seed ${seed}, input ${i}`).toBe('RosterEventInvalidError')
    }
  })
})

describe('membership computation', () => {
  const agentHex = hexOf(AGENT)
  const event = (signer: number, over: Partial<RosterEventBody>): RosterEvent => {
    const { bytes } = encodeRosterEvent(seedOf(signer), body({ signer: hexOf(signer), ...over }))
    return decodeRosterEvent(bytes)
  }
  const genesis = event(AGENT, { type: 'genesis', subject: { publicKey: hexOf(10), name: 'a' } })
  const addB = event(10, { subject: { publicKey: hexOf(11), name: 'b' }, deps: [genesis.id] })
  const addC = event(11, { subject: { publicKey: hexOf(12), name: 'c' }, deps: [addB.id] })

  it('gives the same members whatever order the events come in', () => {
    const all = [genesis, addB, addC]
    const expected = [...computeMembership(all, agentHex, meshId, genesis.id).members.keys()].sort()
    expect(expected).toEqual([hexOf(10), hexOf(11), hexOf(12)].sort())
    for (const order of [[addC, addB, genesis], [addB, genesis, addC]]) {
      expect([...computeMembership(order, agentHex, meshId, genesis.id).members.keys()].sort()).toEqual(expected)
    }
  })

  it('holds an event whose deps are missing as pending until they arrive', () => {
    const early = computeMembership([genesis, addC], agentHex, meshId, genesis.id)
    expect(early.pending).toEqual([addC.id])
    expect(early.members.has(hexOf(12))).toBe(false)
    expect(computeMembership([genesis, addC, addB], agentHex, meshId, genesis.id).members.has(hexOf(12))).toBe(true)
  })

  it('founds the mesh on the pinned genesis only: another one by the agent key counts for nothing, even sorted first', () => {
    let other = event(AGENT, { type: 'genesis', subject: { publicKey: hexOf(13), name: 'd' }, at: 5 })
    for (let at = 6; other.id > genesis.id; at++) other = event(AGENT, { type: 'genesis', subject: { publicKey: hexOf(13), name: 'd' }, at })
    const forged = event(14, { type: 'genesis', subject: { publicKey: hexOf(14), name: 'e' } })
    const underOther = event(13, { subject: { publicKey: hexOf(15), name: 'f' }, deps: [other.id] })
    const state = computeMembership([genesis, addB, other, forged, underOther], agentHex, meshId, genesis.id)
    expect(state.genesisId).toBe(genesis.id)
    expect([...state.members.keys()].sort()).toEqual([hexOf(10), hexOf(11)].sort())
    expect([...state.valid].sort()).toEqual([genesis.id, addB.id].sort())
    expect(computeMembership([genesis, addB, other], agentHex, meshId, other.id).members.has(hexOf(10))).toBe(false)
  })

  it('counts nothing without a pinned genesis, and nothing for a pinned genesis signed by another key', () => {
    expect(computeMembership([genesis, addB], agentHex, meshId, undefined).members.size).toBe(0)
    const forged = event(14, { type: 'genesis', subject: { publicKey: hexOf(14), name: 'e' } })
    expect(computeMembership([forged], agentHex, meshId, forged.id).members.size).toBe(0)
  })

  it('counts an add only if its signer was a member in the event\'s own causal past', () => {
    const addD = event(10, { subject: { publicKey: hexOf(13), name: 'd' }, deps: [genesis.id] })
    // D signs concurrently with its own admission; pick the variant ordered after it, so a
    // check against anything but the causal past would wrongly count it.
    let early = event(13, { subject: { publicKey: hexOf(14), name: 'e' }, deps: [genesis.id] })
    for (let at = 1; early.id < addD.id; at++) early = event(13, { subject: { publicKey: hexOf(14), name: 'e' }, deps: [genesis.id], at })
    const state = computeMembership([genesis, addD, early], agentHex, meshId, genesis.id)
    expect(state.members.has(hexOf(13))).toBe(true)
    expect(state.members.has(hexOf(14))).toBe(false)
    const later = event(13, { subject: { publicKey: hexOf(14), name: 'e' }, deps: [addD.id] })
    expect(computeMembership([genesis, addD, later], agentHex, meshId, genesis.id).members.has(hexOf(14))).toBe(true)
  })

  it('counts a witness event under the add rule but never lets the witness sign', () => {
    const witness = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [genesis.id] })
    const byWitness = [
      event(15, { subject: { publicKey: hexOf(16), name: 'f' }, deps: [witness.id] }),
      event(15, { type: 'witness', subject: { publicKey: hexOf(17), name: 'g' }, deps: [witness.id] }),
      event(15, { type: 'remove', subject: { publicKey: hexOf(10), name: 'a' }, deps: [witness.id] }),
    ]
    const state = computeMembership([genesis, witness, ...byWitness], agentHex, meshId, genesis.id)
    expect([...state.witnesses.keys()]).toEqual([hexOf(15)])
    expect(state.witnesses.get(hexOf(15))?.addedBy).toBe(hexOf(10))
    expect([...state.members.keys()]).toEqual([hexOf(10)])
    expect(state.removed.size).toBe(0)
    expect([...state.valid].sort()).toEqual([genesis.id, witness.id].sort())
  })

  it('does not count a witness event signed by a machine that is not a member', () => {
    const outsider = event(14, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [genesis.id] })
    const state = computeMembership([genesis, outsider], agentHex, meshId, genesis.id)
    expect(state.witnesses.size).toBe(0)
    expect(state.valid.has(outsider.id)).toBe(false)
  })

  it('lists a machine that is both added and made a witness as a member only', () => {
    const witness = event(10, { type: 'witness', subject: { publicKey: hexOf(11), name: 'b' }, deps: [genesis.id], at: 500 })
    const state = computeMembership([genesis, witness, addB], agentHex, meshId, genesis.id)
    expect(state.members.has(hexOf(11))).toBe(true)
    expect(state.witnesses.size).toBe(0)
  })

  it('takes a removed witness out of both roles for good', () => {
    const witness = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [genesis.id] })
    const removal = event(10, { type: 'remove', subject: { publicKey: hexOf(15), name: 'w' }, deps: [witness.id] })
    const again = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [removal.id] })
    const readd = event(10, { subject: { publicKey: hexOf(15), name: 'w' }, deps: [removal.id] })
    const state = computeMembership([genesis, witness, removal, again, readd], agentHex, meshId, genesis.id)
    expect(state.removed.get(hexOf(15))).toBe(removal.id)
    expect(state.witnesses.size).toBe(0)
    expect(state.members.has(hexOf(15))).toBe(false)
  })

  it('names a witness by its earliest counted witness event', () => {
    const late = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'late' }, deps: [genesis.id], at: 3000 })
    const early = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'early' }, deps: [genesis.id], at: 2000 })
    const entry = computeMembership([genesis, late, early], agentHex, meshId, genesis.id).witnesses.get(hexOf(15))
    expect(entry).toMatchObject({ name: 'early', addedAt: 2000, eventId: early.id })
  })

  it('drops a witness event signed by a machine concurrently being removed, unless the removal saw it', () => {
    const removeB = event(10, { type: 'remove', subject: { publicKey: hexOf(11), name: 'b' }, deps: [addB.id] })
    const concurrent = event(11, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [addB.id] })
    expect(computeMembership([genesis, addB, removeB, concurrent], agentHex, meshId, genesis.id).witnesses.size).toBe(0)
    const seen = event(10, { type: 'remove', subject: { publicKey: hexOf(11), name: 'b' }, deps: [concurrent.id] })
    expect([...computeMembership([genesis, addB, concurrent, seen], agentHex, meshId, genesis.id).witnesses.keys()]).toEqual([hexOf(15)])
  })

  it('ignores events of another mesh', () => {
    const foreign = event(AGENT, { type: 'genesis', mesh: 'm' + '0'.repeat(32) })
    expect(computeMembership([foreign], agentHex, meshId, foreign.id).members.size).toBe(0)
  })
})

describe('a removed signer changes nothing', () => {
  const agentHex = hexOf(AGENT)
  const [A, B, R, D, E, W] = [10, 11, 12, 13, 14, 15] as const
  const event = (signer: number, over: Partial<RosterEventBody>): RosterEvent => {
    const { bytes } = encodeRosterEvent(seedOf(signer), body({ signer: hexOf(signer), ...over }))
    return decodeRosterEvent(bytes)
  }
  const subject = (n: number, name: string) => ({ publicKey: hexOf(n), name })
  // A founds, adds B and R; then A removes R, having seen everything before.
  const genesis = event(AGENT, { type: 'genesis', subject: subject(A, 'a') })
  const addB = event(A, { subject: subject(B, 'b'), deps: [genesis.id] })
  const addR = event(A, { subject: subject(R, 'r'), deps: [addB.id] })
  const removeR = event(A, { type: 'remove', subject: subject(R, 'r'), deps: [addR.id] })
  const base = [genesis, addB, addR, removeR]
  const settle = (events: RosterEvent[]) => computeMembership(events, agentHex, meshId, genesis.id)
  const keys = (map: Map<string, unknown>): string[] => [...map.keys()].sort()

  const kinds: Array<[string, Partial<RosterEventBody>, (state: ReturnType<typeof settle>) => boolean]> = [
    ['an add', { subject: subject(D, 'd') }, (state) => state.members.has(hexOf(D))],
    ['a witness', { type: 'witness', subject: subject(W, 'w') }, (state) => state.witnesses.has(hexOf(W))],
    ['a removal', { type: 'remove', subject: subject(B, 'b') }, (state) => state.removed.has(hexOf(B))],
    ['a removal of the founder', { type: 'remove', subject: subject(A, 'a') }, (state) => state.removed.has(hexOf(A))],
  ]

  it.each(kinds)('does not count %s it signed after its removal, with the removal in its past', (_what, over, took) => {
    const late = event(R, { ...over, deps: [removeR.id] })
    const state = settle([...base, late])
    expect(state.valid.has(late.id)).toBe(false)
    expect(took(state)).toBe(false)
    expect(keys(state.members)).toEqual([hexOf(A), hexOf(B)].sort())
  })

  it.each(kinds.slice(0, 3))('does not count %s it signed concurrently with its removal (its deps leave the removal out)', (_what, over, took) => {
    const concurrent = event(R, { ...over, deps: [addR.id] })
    const state = settle([...base, concurrent])
    expect(state.valid.has(concurrent.id)).toBe(false)
    expect(took(state)).toBe(false)
    expect(keys(state.members)).toEqual([hexOf(A), hexOf(B)].sort())
    expect(keys(state.removed)).toEqual([hexOf(R)])
  })

  it.each(kinds)('counts %s it signed before its removal when the removal saw it', (_what, over, took) => {
    const earlier = event(R, { ...over, deps: [addR.id] })
    const removal = event(A, { type: 'remove', subject: subject(R, 'r'), deps: [earlier.id] })
    const state = settle([genesis, addB, addR, earlier, removal])
    expect(state.valid.has(earlier.id)).toBe(true)
    expect(took(state)).toBe(true)
  })

  it('drops what depends on a concurrent add of a removed machine: the machine it added signs nothing either', () => {
    const addD = event(R, { subject: subject(D, 'd'), deps: [addR.id] })
    const byD = [
      event(D, { subject: subject(E, 'e'), deps: [addD.id] }),
      event(D, { type: 'remove', subject: subject(B, 'b'), deps: [addD.id] }),
      event(D, { type: 'witness', subject: subject(W, 'w'), deps: [addD.id] }),
    ]
    const state = settle([...base, addD, ...byD])
    expect([...state.valid].sort()).toEqual(base.map((e) => e.id).sort())
    expect(keys(state.members)).toEqual([hexOf(A), hexOf(B)].sort())
    expect(state.witnesses.size).toBe(0)
  })

  it('removes both machines of two that remove each other concurrently, and voids what each signed unseen by the other', () => {
    // R answers its removal by removing A, and also B; A meanwhile adds D.
    const removeA = event(R, { type: 'remove', subject: subject(A, 'a'), deps: [addR.id] })
    const removeB = event(R, { type: 'remove', subject: subject(B, 'b'), deps: [addR.id] })
    const addD = event(A, { subject: subject(D, 'd'), deps: [removeR.id] })
    const state = settle([...base, removeA, removeB, addD])
    expect(keys(state.removed)).toEqual([hexOf(A), hexOf(R)].sort())
    expect(keys(state.members)).toEqual([hexOf(B)])
    expect(state.valid.has(removeB.id)).toBe(false)
    expect(state.valid.has(addD.id)).toBe(false)
  })

  it('counts nothing of a loop of concurrent removals among three machines', () => {
    const removeB = event(R, { type: 'remove', subject: subject(B, 'b'), deps: [addR.id] })
    const removeA = event(B, { type: 'remove', subject: subject(A, 'a'), deps: [addR.id] })
    const loop = [genesis, addB, addR, event(A, { type: 'remove', subject: subject(R, 'r'), deps: [addR.id] }), removeB, removeA]
    const state = settle(loop)
    expect(state.removed.size).toBe(0)
    expect(keys(state.members)).toEqual([hexOf(A), hexOf(B), hexOf(R)].sort())
  })

  it('does not count a removal by a machine whose own add was voided, and counts what that removal contested', () => {
    // R adds D concurrently with its removal; D "removes" B; B then adds E with nothing voided.
    const addD = event(R, { subject: subject(D, 'd'), deps: [addR.id] })
    const removeB = event(D, { type: 'remove', subject: subject(B, 'b'), deps: [addD.id] })
    const addE = event(B, { subject: subject(E, 'e'), deps: [removeR.id] })
    const state = settle([...base, addD, removeB, addE])
    expect(keys(state.members)).toEqual([hexOf(A), hexOf(B), hexOf(E)].sort())
    expect(state.valid.has(removeB.id)).toBe(false)
  })

  it('settles the same membership whatever order a random history arrives in (seeded; ROSTER_FUZZ_SEED replays)', () => {
    const seed = Number(process.env.ROSTER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const random = prng(seed)
    const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
    const machines = [A, B, R, D, E, W, 16, 17]
    for (let round = 0; round < Number(process.env.ROSTER_FUZZ_ROUNDS ?? 4); round++) {
      const history: RosterEvent[] = [genesis]
      for (let i = 0; i < 25; i++) {
        const deps = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(history).id))]
        const type = pick(['add', 'add', 'remove', 'witness'] as const)
        const target = pick(machines)
        history.push(event(pick(machines), { type, subject: subject(target, `m${target}`), deps, at: 1000 + i }))
      }
      const expected = settle(history)
      for (let shuffle = 0; shuffle < 3; shuffle++) {
        const order = [...history].sort(() => random() - 0.5)
        const state = settle(order)
        const what = `seed ${seed}, round ${round} (replay with ROSTER_FUZZ_SEED=${seed})`
        expect(keys(state.members), what).toEqual(keys(expected.members))
        expect(keys(state.witnesses), what).toEqual(keys(expected.witnesses))
        expect(keys(state.removed), what).toEqual(keys(expected.removed))
        expect([...state.valid].sort(), what).toEqual([...expected.valid].sort())
      }
      // And nothing a removed machine signed outside the past of its counted removal counts.
      for (const id of expected.valid) {
        const e = history.find((h) => h.id === id) as RosterEvent
        const removal = expected.removed.get(e.body.signer)
        if (removal === undefined || e.body.type === 'genesis') continue
        const removalEvent = history.find((h) => h.id === removal) as RosterEvent
        const mutual = e.body.type === 'remove' && e.body.subject.publicKey === removalEvent.body.signer
        expect(mutual || ancestorsOf(history, removal).has(id), `seed ${seed}, round ${round}, event ${id}`).toBe(true)
      }
    }
  })
})

function ancestorsOf(events: RosterEvent[], id: string): Set<string> {
  const byId = new Map(events.map((e) => [e.id, e]))
  const seen = new Set<string>()
  const stack = [...(byId.get(id)?.body.deps ?? [])]
  while (stack.length > 0) {
    const next = stack.pop() as string
    if (seen.has(next)) continue
    seen.add(next)
    stack.push(...(byId.get(next)?.body.deps ?? []))
  }
  return seen
}
