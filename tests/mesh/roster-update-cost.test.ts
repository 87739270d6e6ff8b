/**
 * The cost bound on a roster update applied to a scratch document (mesh/roster-update-cost.ts):
 * a roster as members write it stays far under it however long its history, and a flood of
 * concurrent items in one key (which Yjs integrates in quadratic time even on an empty
 * document) is refused before any of it is applied.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { keyFlood, selfContainedInserts } from '../../bench/hostile-updates.js'
import { createRoster, type Roster } from '../../mesh/roster.js'
import { MAX_ROSTER_UPDATE_STEPS, rosterUpdateSteps } from '../../mesh/roster-update-cost.js'
import { keyOf, seedOf } from '../support/fixed-keys.js'

const opened: Roster[] = []
afterEach(() => {
  for (const roster of opened.splice(0)) roster.destroy()
})

function founded(): Roster {
  const roster = createRoster({ agentPublicKey: keyOf(1) })
  opened.push(roster)
  roster.found(seedOf(1), { publicKey: keyOf(10), name: 'alpha' }, 1000)
  return roster
}

const codeOf = (run: () => unknown): unknown => {
  try {
    run()
  } catch (err) {
    return (err as { code?: unknown }).code
  }
  return undefined
}

describe('the cost of a roster update', () => {
  it('counts about two steps per struct for a roster as members write it: 50 events, 10 machines that each published their addresses 200 times', () => {
    // The shape of the roster document (its Yjs structure is what costs), without the signatures.
    const doc = new Y.Doc()
    for (let i = 0; i < 50; i++) doc.getMap('events').set(`event-${i}`, new Uint8Array(300))
    for (let k = 0; k < 200; k++) for (let i = 0; i < 10; i++) doc.getMap('addresses').set(`peer-${i}`, new Uint8Array([k]))
    const state = Y.encodeStateAsUpdate(doc)
    const structs = Y.decodeUpdate(state).structs.length
    expect(structs).toBeGreaterThan(2000)
    expect(rosterUpdateSteps(state)).toBeLessThanOrEqual(2 * structs + 100)
    // And a real roster, signed: far under the limit too.
    const roster = founded()
    for (let i = 0; i < 5; i++) roster.add(seedOf(10), { publicKey: keyOf(20 + i), name: `m${i}` }, 2000 + i)
    for (let i = 0; i < 5; i++) roster.publishAddresses(seedOf(20 + i), ['/ip4/127.0.0.1/tcp/1'], 3000)
    expect(rosterUpdateSteps(roster.encodeState())).toBeLessThan(100)
  })

  it('counts concurrent inserts after one item and concurrent sets of one key as quadratic, over the limit', () => {
    expect(rosterUpdateSteps(selfContainedInserts('events', 'x', 600))).toBeGreaterThan(MAX_ROSTER_UPDATE_STEPS)
    expect(rosterUpdateSteps(keyFlood('events', 'x', 600))).toBeGreaterThan(MAX_ROSTER_UPDATE_STEPS)
    expect(rosterUpdateSteps(selfContainedInserts('events', 'x', 50))).toBeLessThan(MAX_ROSTER_UPDATE_STEPS)
  })

  it('refuses such a flood in applyRemote and in a welcome with ROSTER_UPDATE_TOO_COSTLY, keeping nothing of it', () => {
    const roster = founded()
    const before = roster.encodeState()
    const flood = selfContainedInserts('events', 'x', 3000)
    expect(codeOf(() => roster.applyRemote(flood))).toBe('ROSTER_UPDATE_TOO_COSTLY')
    expect(roster.encodeState()).toEqual(before)
    const joiner = createRoster({ agentPublicKey: keyOf(1) })
    opened.push(joiner)
    expect(codeOf(() => joiner.adopt(flood))).toBe('ROSTER_UPDATE_TOO_COSTLY')
  })

  it('ends on origins that point in a circle, and refuses bytes that are no update as ROSTER_EVENT_INVALID', () => {
    const encoder = new Y.UpdateEncoderV1()
    encoder.writeLen(2)
    for (const [client, other] of [
      [5, 6],
      [6, 5],
    ] as const) {
      encoder.writeLen(1)
      encoder.writeClient(client)
      encoder.writeLen(0)
      new Y.Item(Y.createID(client, 0), null, Y.createID(other, 0), null, null, null, null, new Y.ContentAny([1])).write(encoder, 0)
    }
    encoder.writeLen(0)
    expect(rosterUpdateSteps(encoder.toUint8Array())).toBe(2)
    expect(codeOf(() => founded().applyRemote(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)))).toBe('ROSTER_EVENT_INVALID')
  })
})
