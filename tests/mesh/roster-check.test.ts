/**
 * Roster.checkRemote verifies a frame's signatures ahead, in turns, so that the merge after it
 * takes one short turn. What is checked ahead must merge exactly as an unchecked merge would.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createRoster } from '../../mesh/roster.js'
import type { Roster } from '../../mesh/roster.js'
import { encodeRosterEvent, meshIdFromAgentKey } from '../../mesh/roster-events.js'
import { hexOf, keyOf, seedOf } from '../support/fixed-keys.js'

const AGENT = 1
const A = 10
const B = 11
const STRANGERS = [40, 41, 42, 43, 44, 45, 46, 47]

const opened: Roster[] = []
afterEach(() => {
  for (const roster of opened.splice(0)) roster.destroy()
})

function founded(): Roster {
  const roster = createRoster({ agentPublicKey: keyOf(AGENT) })
  opened.push(roster)
  roster.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
  return roster
}

function copyOf(roster: Roster): Roster {
  const copy = createRoster({ agentPublicKey: keyOf(AGENT) })
  opened.push(copy)
  copy.adopt(roster.encodeState())
  return copy
}

/** The founder's roster plus: B added by A, stranger-signed adds, and one event with a broken signature. */
function hostileFrame(roster: Roster): Uint8Array {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, roster.encodeState())
  const events = doc.getMap<Uint8Array>('events')
  const mesh = meshIdFromAgentKey(keyOf(AGENT))
  const genesis = roster.genesis() as string
  const good = encodeRosterEvent(seedOf(A), { v: 1, type: 'add', mesh, subject: { publicKey: hexOf(B), name: 'bravo' }, signer: hexOf(A), at: 2000, deps: [genesis] })
  events.set(good.id, good.bytes)
  for (const s of STRANGERS) {
    const e = encodeRosterEvent(seedOf(s), { v: 1, type: 'add', mesh, subject: { publicKey: hexOf(s + 20), name: `s${s}` }, signer: hexOf(s), at: 2000, deps: [genesis] })
    events.set(e.id, e.bytes)
  }
  const forged = encodeRosterEvent(seedOf(A), { v: 1, type: 'add', mesh, subject: { publicKey: hexOf(70), name: 'forged' }, signer: hexOf(A), at: 3000, deps: [genesis] })
  const broken = forged.bytes.slice()
  broken[broken.length - 1] = (broken[broken.length - 1] as number) ^ 1
  events.set(forged.id, broken)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

describe('Roster.checkRemote', () => {
  it('merges a frame checked ahead exactly as an unchecked merge of it', async () => {
    const origin = founded()
    const frame = hostileFrame(origin)
    const plain = copyOf(origin)
    const checked = copyOf(origin)
    const expected = plain.applyRemote(frame)
    await checked.checkRemote(frame, { now: () => 0, pause: () => Promise.resolve() })
    expect(checked.applyRemote(frame)).toEqual(expected)
    expect(checked.members().map((m) => m.name)).toEqual(['alpha', 'bravo'])
    expect([...checked.doc.getMap('events').keys()].sort()).toEqual([...plain.doc.getMap('events').keys()].sort())
    expect(expected.refused).toEqual({ ROSTER_EVENT_INVALID: 1, ROSTER_NOT_MEMBER: STRANGERS.length })
    expect(expected.uncounted).toEqual({})
  })

  it('pauses whenever it has worked a turn, so a large frame never holds the event loop', async () => {
    const origin = founded()
    const frame = hostileFrame(origin)
    const copy = copyOf(origin)
    // A clock that moves 1 ms per reading: with 1 ms turns every check ends a turn.
    let now = 0
    let pauses = 0
    await copy.checkRemote(frame, { now: () => now++, pause: async () => void pauses++, turnMs: 1 })
    // Ten fresh events (B's add, the strangers' adds, the forgery): a pause after each.
    expect(pauses).toBe(STRANGERS.length + 2)
  })

  it('skips what the roster already holds', async () => {
    const origin = founded()
    const copy = copyOf(origin)
    let pauses = 0
    await copy.checkRemote(origin.encodeState(), { now: () => 0, pause: async () => void pauses++, turnMs: 0 })
    expect(pauses).toBe(0)
  })

  it('refuses an update that does not decode, as applyRemote does', async () => {
    const copy = copyOf(founded())
    await expect(copy.checkRemote(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), { now: () => 0, pause: () => Promise.resolve() })).rejects.toMatchObject({ code: 'ROSTER_EVENT_INVALID' })
  })
})
