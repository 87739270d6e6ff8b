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

  it('only ever throws RosterEventInvalidError on random, truncated and mutated bytes', () => {
    const seed = Math.floor(Math.random() * 2 ** 31)
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
      expect((error as { code?: string } | undefined)?.code, `fuzz seed ${seed}, input ${i}`).toBe('ROSTER_EVENT_INVALID')
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
    const expected = [...computeMembership(all, agentHex, meshId).members.keys()].sort()
    expect(expected).toEqual([hexOf(10), hexOf(11), hexOf(12)].sort())
    for (const order of [[addC, addB, genesis], [addB, genesis, addC]]) {
      expect([...computeMembership(order, agentHex, meshId).members.keys()].sort()).toEqual(expected)
    }
  })

  it('holds an event whose deps are missing as pending until they arrive', () => {
    const early = computeMembership([genesis, addC], agentHex, meshId)
    expect(early.pending).toEqual([addC.id])
    expect(early.members.has(hexOf(12))).toBe(false)
    expect(computeMembership([genesis, addC, addB], agentHex, meshId).members.has(hexOf(12))).toBe(true)
  })

  it('founds the mesh on the lowest-id agent genesis and ignores a genesis by another key', () => {
    const other = event(AGENT, { type: 'genesis', subject: { publicKey: hexOf(13), name: 'd' }, at: 5 })
    const forged = event(14, { type: 'genesis', subject: { publicKey: hexOf(14), name: 'e' } })
    const state = computeMembership([genesis, other, forged], agentHex, meshId)
    const winner = genesis.id < other.id ? genesis : other
    expect(state.genesisId).toBe(winner.id)
    expect([...state.members.keys()]).toEqual([winner.body.subject.publicKey])
  })

  it('counts an add only if its signer was a member in the event\'s own causal past', () => {
    const addD = event(10, { subject: { publicKey: hexOf(13), name: 'd' }, deps: [genesis.id] })
    // D signs concurrently with its own admission; pick the variant ordered after it, so a
    // check against anything but the causal past would wrongly count it.
    let early = event(13, { subject: { publicKey: hexOf(14), name: 'e' }, deps: [genesis.id] })
    for (let at = 1; early.id < addD.id; at++) early = event(13, { subject: { publicKey: hexOf(14), name: 'e' }, deps: [genesis.id], at })
    const state = computeMembership([genesis, addD, early], agentHex, meshId)
    expect(state.members.has(hexOf(13))).toBe(true)
    expect(state.members.has(hexOf(14))).toBe(false)
    const later = event(13, { subject: { publicKey: hexOf(14), name: 'e' }, deps: [addD.id] })
    expect(computeMembership([genesis, addD, later], agentHex, meshId).members.has(hexOf(14))).toBe(true)
  })

  it('counts a witness event under the add rule but never lets the witness sign', () => {
    const witness = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [genesis.id] })
    const byWitness = [
      event(15, { subject: { publicKey: hexOf(16), name: 'f' }, deps: [witness.id] }),
      event(15, { type: 'witness', subject: { publicKey: hexOf(17), name: 'g' }, deps: [witness.id] }),
      event(15, { type: 'remove', subject: { publicKey: hexOf(10), name: 'a' }, deps: [witness.id] }),
    ]
    const state = computeMembership([genesis, witness, ...byWitness], agentHex, meshId)
    expect([...state.witnesses.keys()]).toEqual([hexOf(15)])
    expect(state.witnesses.get(hexOf(15))?.addedBy).toBe(hexOf(10))
    expect([...state.members.keys()]).toEqual([hexOf(10)])
    expect(state.removed.size).toBe(0)
    expect([...state.valid].sort()).toEqual([genesis.id, witness.id].sort())
  })

  it('does not count a witness event signed by a machine that is not a member', () => {
    const outsider = event(14, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [genesis.id] })
    const state = computeMembership([genesis, outsider], agentHex, meshId)
    expect(state.witnesses.size).toBe(0)
    expect(state.valid.has(outsider.id)).toBe(false)
  })

  it('lists a machine that is both added and made a witness as a member only', () => {
    const witness = event(10, { type: 'witness', subject: { publicKey: hexOf(11), name: 'b' }, deps: [genesis.id], at: 500 })
    const state = computeMembership([genesis, witness, addB], agentHex, meshId)
    expect(state.members.has(hexOf(11))).toBe(true)
    expect(state.witnesses.size).toBe(0)
  })

  it('takes a removed witness out of both roles for good', () => {
    const witness = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [genesis.id] })
    const removal = event(10, { type: 'remove', subject: { publicKey: hexOf(15), name: 'w' }, deps: [witness.id] })
    const again = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [removal.id] })
    const readd = event(10, { subject: { publicKey: hexOf(15), name: 'w' }, deps: [removal.id] })
    const state = computeMembership([genesis, witness, removal, again, readd], agentHex, meshId)
    expect(state.removed.get(hexOf(15))).toBe(removal.id)
    expect(state.witnesses.size).toBe(0)
    expect(state.members.has(hexOf(15))).toBe(false)
  })

  it('names a witness by its earliest counted witness event', () => {
    const late = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'late' }, deps: [genesis.id], at: 3000 })
    const early = event(10, { type: 'witness', subject: { publicKey: hexOf(15), name: 'early' }, deps: [genesis.id], at: 2000 })
    const entry = computeMembership([genesis, late, early], agentHex, meshId).witnesses.get(hexOf(15))
    expect(entry).toMatchObject({ name: 'early', addedAt: 2000, eventId: early.id })
  })

  it('drops a witness event signed by a machine concurrently being removed, unless the removal saw it', () => {
    const removeB = event(10, { type: 'remove', subject: { publicKey: hexOf(11), name: 'b' }, deps: [addB.id] })
    const concurrent = event(11, { type: 'witness', subject: { publicKey: hexOf(15), name: 'w' }, deps: [addB.id] })
    expect(computeMembership([genesis, addB, removeB, concurrent], agentHex, meshId).witnesses.size).toBe(0)
    const seen = event(10, { type: 'remove', subject: { publicKey: hexOf(11), name: 'b' }, deps: [concurrent.id] })
    expect([...computeMembership([genesis, addB, concurrent, seen], agentHex, meshId).witnesses.keys()]).toEqual([hexOf(15)])
  })

  it('ignores events of another mesh', () => {
    const foreign = event(AGENT, { type: 'genesis', mesh: 'm' + '0'.repeat(32) })
    expect(computeMembership([foreign], agentHex, meshId).members.size).toBe(0)
  })
})
