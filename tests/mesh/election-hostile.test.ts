/**
 * Issue 9, part 1: one election frame killed every member for good. A witness sent a HEARTBEAT
 * at term 2^53 - 1; the member adopted it, followed the witness, and its next election timer
 * threw encoding term + 1. These drive one election node by hand on a manual clock, with every
 * message it sends encoded as the transport would (so a term it cannot send throws, as it did),
 * and a manual clock without onError (so a timer that throws fails the test where it fires).
 */
import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../runtime/index.js'
import { createElection, type TermStore, type Voter } from '../../mesh/election.js'
import { MAX_TERM, encodeElectionMessage, type ElectionMessage } from '../../mesh/election-protocol.js'
import { createRefusalLog } from '../../mesh/refusal-log.js'
import { REPAIRED_TERM, createMemoryTermStore } from '../../mesh/term-store.js'
import { recordingLogger } from '../support/recording-logger.js'
import { createCluster, memoryTermStore } from '../support/sim-network.js'

const ATTACK_TERM = 2 ** 53 - 1

/** The hand-fed node's timing, fixed so its rules are checked on round numbers whatever the defaults. */
const HAND_FED_TIMING = { heartbeatMs: 200, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000, electionTimeoutMarginMs: 0, maxClockDriftMs: 100 } as const

/** Node 'a' among members a and b and the witness w. Time starts at 0; random 0.5 puts its timeout at 1500. */
function node(options: { store?: TermStore; voters?: Voter[] } = {}) {
  const clock = createManualClock(0)
  const logger = recordingLogger()
  const store = options.store ?? memoryTermStore()
  const voters: Voter[] = options.voters ?? [
    { peerId: 'a', priority: 0, canLead: true },
    { peerId: 'b', priority: 0, canLead: true },
    { peerId: 'w', priority: 0, canLead: false },
  ]
  const sent: Array<{ to: string; message: ElectionMessage }> = []
  const election = createElection({
    clock,
    random: () => 0.5,
    self: 'a',
    logger,
    voters: () => voters,
    // As the transport does: a message whose term does not encode throws here.
    send: (to, message) => {
      encodeElectionMessage(message)
      sent.push({ to, message })
    },
    store,
  }, HAND_FED_TIMING)
  const take = (type?: ElectionMessage['type']): Array<{ to: string; message: ElectionMessage }> => {
    const found = sent.filter((s) => type === undefined || s.message.type === type)
    sent.length = 0
    return found
  }
  return { clock, logger, store, election, take }
}

const leaderOnly: Array<[string, (term: number) => ElectionMessage]> = [
  ['heartbeat', (term) => ({ type: 'heartbeat', term, round: 1 })],
  ['request-vote', (term) => ({ type: 'request-vote', term, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })],
  ['request-vote with transfer', (term) => ({ type: 'request-vote', term, priority: 0, transfer: true, config: { stamp: 0, epoch: 0 } })],
  ['pre-vote', (term) => ({ type: 'pre-vote', term, priority: 0, config: { stamp: 0, epoch: 0 } })],
  ['timeout-now', (term) => ({ type: 'timeout-now', term })],
]

describe('a witness never leads', () => {
  it.each(leaderOnly)('refuses a %s from the witness without adopting its term, and logs ELECTION_WITNESS_CANNOT_LEAD', (_name, make) => {
    const n = node()
    n.election.start()
    for (const term of [MAX_TERM, 1000]) {
      n.election.receive('w', make(term))
      expect(n.election.info()).toMatchObject({ term: 0, leader: null, role: 'follower' })
    }
    expect(n.store.load()).toEqual({ term: 0, votedFor: null })
    expect(n.take().filter((s) => s.to === 'w' && s.message.type !== 'pre-vote')).toEqual([])
    expect(n.election.refusals()).toMatchObject({ ELECTION_WITNESS_CANNOT_LEAD: 2 })
    expect(n.logger.lines.filter((l) => l.code === 'ELECTION_WITNESS_CANNOT_LEAD' && l.level === 'warn')).toHaveLength(2)
    // The refused frame changed nothing: the node still elects itself with b, and never follows w.
    n.clock.advance(1500)
    expect(n.take('pre-vote').map((s) => s.message.term)).toEqual([1, 1])
    n.election.receive('b', { type: 'pre-vote-reply', term: 1, granted: true })
    n.election.receive('b', { type: 'vote', term: 1, granted: true })
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 1, leader: 'a' })
  })

  it.each([
    ['vote', (term: number): ElectionMessage => ({ type: 'vote', term, granted: false })],
    ['pre-vote-reply', (term: number): ElectionMessage => ({ type: 'pre-vote-reply', term, granted: false })],
    ['heartbeat-reply', (term: number): ElectionMessage => ({ type: 'heartbeat-reply', term, round: 1, ok: false, priority: 0, config: { stamp: 0, epoch: 0 } })],
  ])('lets a %s from the witness raise the term by one at most, so it cannot exhaust the terms', (_name, make) => {
    const n = node()
    n.election.start()
    // Past the boot stickiness (a node that hears a leader takes no term from the witness).
    n.clock.advance(1100)
    for (let i = 0; i < 5; i++) n.election.receive('w', make(MAX_TERM))
    expect(n.election.info().term).toBe(5)
    // A member's answer is taken whole, as Raft does.
    n.election.receive('b', make(1000))
    expect(n.election.info().term).toBe(1000)
  })

  it('still elects a leader with the witness when its own term is far behind the witness', () => {
    const n = node()
    n.election.start()
    n.clock.advance(1500)
    // The witness refuses each pre-vote with its term of 10 (b is down); a catches up one term per answer.
    for (let round = 0; round < 20 && n.election.info().role !== 'leader'; round++) {
      for (const { to, message } of n.take()) {
        if (to !== 'w') continue
        if (message.type === 'pre-vote') n.election.receive('w', message.term > 10 ? { type: 'pre-vote-reply', term: message.term, granted: true } : { type: 'pre-vote-reply', term: 10, granted: false })
        if (message.type === 'request-vote') n.election.receive('w', { type: 'vote', term: message.term, granted: message.term > 10 })
      }
    }
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 11 })
  })

  it('refuses a witness heartbeat at 2^53-1 handed over past the decoder, as malformed, and stays alive', () => {
    const n = node()
    n.election.start()
    n.election.receive('w', { type: 'heartbeat', term: ATTACK_TERM, round: 1 })
    n.election.receive('b', { type: 'heartbeat', term: ATTACK_TERM, round: 1 })
    expect(n.election.info()).toMatchObject({ term: 0, leader: null })
    expect(n.election.refusals()).toMatchObject({ ELECTION_FRAME_MALFORMED: 2 })
    n.clock.advance(10_000)
    expect(n.election.info().term).toBeLessThan(10)
  })

  it('still counts a witness\'s pre-vote grant, vote and heartbeat acknowledgement', () => {
    const n = node()
    const acquired: number[] = []
    n.election.on('lease:acquired', (e) => acquired.push(e.term))
    n.election.start()
    n.clock.advance(1500)
    n.election.receive('w', { type: 'pre-vote-reply', term: 1, granted: true })
    expect(n.take('request-vote').map((s) => s.to)).toEqual(['b', 'w'])
    n.election.receive('w', { type: 'vote', term: 1, granted: true })
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 1 })
    n.election.receive('w', { type: 'heartbeat-reply', term: 1, round: 1, ok: true, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(acquired).toEqual([1])
    expect(n.election.refusals()).toEqual({})
  })
})

describe('a term at the bound', () => {
  it('leaves a node that follows a member at MAX_TERM alive and not standing when its timers fire', () => {
    // One below the bound: a member's message raises a term by at most 2^16.
    const n = node({ store: memoryTermStore({ term: MAX_TERM - 1, votedFor: null }) })
    n.election.start()
    n.clock.advance(1200)
    n.election.receive('b', { type: 'heartbeat', term: MAX_TERM, round: 1 })
    expect(n.election.info()).toMatchObject({ term: MAX_TERM, leader: 'b' })
    n.take()
    // The leader goes quiet: many election timeouts pass. Before the fix the first one threw.
    expect(() => n.clock.advance(30_000)).not.toThrow()
    expect(n.election.info()).toMatchObject({ term: MAX_TERM, role: 'follower' })
    expect(n.take().filter((s) => s.message.type === 'pre-vote' || s.message.type === 'request-vote')).toEqual([])
    expect(n.store.load()).toEqual({ term: MAX_TERM, votedFor: null })
    expect(n.election.refusals().ELECTION_TERM_EXHAUSTED).toBeGreaterThan(5)
    // Said once, not on every timeout.
    expect(n.logger.lines.filter((l) => l.code === 'ELECTION_TERM_EXHAUSTED')).toHaveLength(1)
  })

  it('does not stand on a TIMEOUT_NOW or a refused pre-vote at MAX_TERM, and throws nothing', () => {
    // One below the bound: a member's message raises a term by at most 2^16.
    const n = node({ store: memoryTermStore({ term: MAX_TERM - 1, votedFor: null }) })
    n.election.start()
    n.clock.advance(1500)
    n.take()
    expect(() => n.election.receive('b', { type: 'pre-vote-reply', term: MAX_TERM, granted: false })).not.toThrow()
    expect(() => n.election.receive('b', { type: 'timeout-now', term: MAX_TERM })).not.toThrow()
    expect(() => n.clock.advance(10_000)).not.toThrow()
    expect(n.election.info()).toMatchObject({ term: MAX_TERM, role: 'follower' })
    expect(n.take().filter((s) => s.message.type === 'pre-vote' || s.message.type === 'request-vote')).toEqual([])
  })

  it('still answers at MAX_TERM: grants a member\'s vote request in that term', () => {
    // One below the bound: a member's message raises a term by at most 2^16.
    const n = node({ store: memoryTermStore({ term: MAX_TERM - 1, votedFor: null }) })
    n.election.start()
    n.clock.advance(1500)
    n.election.receive('b', { type: 'request-vote', term: MAX_TERM, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(n.take('vote').map((s) => s.message)).toEqual([{ type: 'vote', term: MAX_TERM, granted: true }])
    n.election.receive('b', { type: 'request-vote', term: MAX_TERM, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(n.take('vote').map((s) => s.message)).toEqual([{ type: 'vote', term: MAX_TERM, granted: true }])
  })

  it('never stands at MAX_TERM as the only voter (solo)', () => {
    const n = node({ voters: [{ peerId: 'a', priority: 0, canLead: true }], store: memoryTermStore({ term: MAX_TERM, votedFor: null }) })
    expect(() => n.election.start()).not.toThrow()
    expect(() => n.clock.advance(10_000)).not.toThrow()
    expect(n.election.info()).toMatchObject({ term: MAX_TERM, role: 'follower' })
  })
})

describe('a stored term out of range', () => {
  it('is repaired to 2^47 with no vote as the election loads it, reported with ELECTION_TERM_REPAIRED', () => {
    const store = memoryTermStore({ term: ATTACK_TERM, votedFor: 'b' })
    const n = node({ store })
    n.election.start()
    expect(n.election.info().term).toBe(REPAIRED_TERM)
    expect(store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
    const repaired = n.logger.lines.filter((l) => l.code === 'ELECTION_TERM_REPAIRED')
    expect(repaired).toHaveLength(1)
    expect(repaired[0]).toMatchObject({ level: 'warn', fields: { found: String(ATTACK_TERM), repairedTo: REPAIRED_TERM } })
    expect(() => n.clock.advance(1500)).not.toThrow()
    expect(n.take('pre-vote').map((s) => s.message.term)).toEqual([REPAIRED_TERM + 1, REPAIRED_TERM + 1])
  })

  it.each([[-1], [1.5], [Number.NaN], [MAX_TERM + 1]])('repairs a stored term of %s', (term) => {
    const n = node({ store: memoryTermStore({ term, votedFor: 'b' }) })
    n.election.start()
    expect(n.election.info().term).toBe(REPAIRED_TERM)
    expect(n.store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
  })

  it('keeps a stored term in range as it is, MAX_TERM included', () => {
    for (const term of [0, 57, MAX_TERM]) {
      const n = node({ store: memoryTermStore({ term, votedFor: 'b' }) })
      n.election.start()
      expect(n.store.load()).toEqual({ term, votedFor: 'b' })
      expect(n.logger.codes()).not.toContain('ELECTION_TERM_REPAIRED')
    }
  })

  it('is repaired by the memory TermStore too, which lists the repair', () => {
    const store = createMemoryTermStore({ term: ATTACK_TERM, votedFor: 'b' })
    expect(store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
    expect(store.repairs()).toEqual([{ code: 'ELECTION_TERM_REPAIRED', what: 'election.term', found: String(ATTACK_TERM), repairedTo: REPAIRED_TERM }])
    expect(createMemoryTermStore().repairs()).toEqual([])
  })

  it('lets members that all stored 2^53-1 (and the witness) converge and elect a leader above the repaired term', () => {
    const stored = { term: ATTACK_TERM, votedFor: 'a' }
    const seed = Number(process.env.ELECTION_SEED ?? 41)
    const c = createCluster({ members: [{ id: 'a', stored }, { id: 'b', stored }, { id: 'w', canLead: false, stored }], seed })
    for (const id of c.ids()) c.start(id)
    expect(c.until(() => c.holders().length === 1, 6000), `seed ${seed}`).not.toBeNull()
    const leader = c.holders()[0] as string
    expect(leader).not.toBe('w')
    expect(c.election(leader).info().term).toBeGreaterThan(REPAIRED_TERM)
    c.advance(10_000)
    expect(c.holders()).toEqual([leader])
    expect(c.violations).toEqual([])
  })
})

describe('refusal log', () => {
  it('logs the first refusals of a window, counts all, and says how many lines it held back', () => {
    const clock = createManualClock(0)
    const logger = recordingLogger()
    const log = createRefusalLog({ clock, logger }, { windowMs: 1000, linesPerWindow: 3 })
    for (let i = 0; i < 10; i++) log.refuse('ELECTION_FRAME_MALFORMED', 'p', {}, 'refused')
    log.refuse('ELECTION_FRAME_MALFORMED', 'q', {}, 'refused')
    expect(log.counts()).toEqual({ ELECTION_FRAME_MALFORMED: 11 })
    expect(logger.lines.filter((l) => l.fields.peerId === 'p')).toHaveLength(3)
    expect(logger.lines.filter((l) => l.fields.peerId === 'q')).toHaveLength(1)
    clock.advance(1000)
    log.refuse('ELECTION_FRAME_MALFORMED', 'p', {}, 'refused')
    expect(logger.lines.filter((l) => l.fields.peerId === 'p').map((l) => l.fields.suppressed)).toEqual([undefined, undefined, undefined, 7, undefined])
  })
})

describe('terms a hostile voter sends (the hostile fuzzer, tests/hostile/fuzz.test.ts)', () => {
  it('lets a member\'s heartbeat at MAX_TERM raise the term by 2^16 at most, so the node stands again once that leader is quiet', () => {
    const n = node()
    n.election.start()
    n.election.receive('b', { type: 'heartbeat', term: MAX_TERM, round: 1 })
    expect(n.election.info()).toMatchObject({ term: 2 ** 16, leader: 'b' })
    n.take()
    n.clock.advance(5000)
    const asked = n.take('pre-vote').map((s) => s.message.term)
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.every((t) => t === 2 ** 16 + 1)).toBe(true)
    expect(n.election.refusals().ELECTION_TERM_EXHAUSTED).toBeUndefined()
  })

  it('catches up with a member far ahead in steps of 2^16, and follows it', () => {
    const n = node()
    n.election.start()
    const far = 3 * 2 ** 16 + 5
    for (let round = 1; round <= 4; round++) n.election.receive('b', { type: 'heartbeat', term: far, round })
    expect(n.election.info()).toMatchObject({ term: far, leader: 'b' })
    expect(n.take('heartbeat-reply').at(-1)?.message).toEqual({ type: 'heartbeat-reply', term: far, round: 4, ok: true, priority: 0, config: { stamp: 0, epoch: 0 } })
  })

  it.each([
    ['vote', (term: number): ElectionMessage => ({ type: 'vote', term, granted: false })],
    ['pre-vote-reply', (term: number): ElectionMessage => ({ type: 'pre-vote-reply', term, granted: false })],
    ['heartbeat-reply', (term: number): ElectionMessage => ({ type: 'heartbeat-reply', term, round: 1, ok: false, priority: 0, config: { stamp: 0, epoch: 0 } })],
  ])('keeps a leader leading when the witness answers with a %s in a higher term, and logs ELECTION_WITNESS_TERM_REFUSED', (_name, make) => {
    const n = node()
    n.election.start()
    n.clock.advance(1500)
    n.election.receive('w', { type: 'pre-vote-reply', term: 1, granted: true })
    n.election.receive('w', { type: 'vote', term: 1, granted: true })
    n.election.receive('w', { type: 'heartbeat-reply', term: 1, round: 1, ok: true, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 1 })
    for (let i = 0; i < 5; i++) n.election.receive('w', make(2 + i))
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 1 })
    expect(n.store.load().term).toBe(1)
    expect(n.election.refusals()).toMatchObject({ ELECTION_WITNESS_TERM_REFUSED: 5 })
    expect(n.logger.lines.some((l) => l.code === 'ELECTION_WITNESS_TERM_REFUSED' && l.level === 'warn')).toBe(true)
  })

  it('keeps a follower that hears a leader on the leader\'s term when the witness answers in a higher one', () => {
    const n = node()
    n.election.start()
    n.clock.advance(1100)
    n.election.receive('b', { type: 'heartbeat', term: 1, round: 1 })
    n.election.receive('w', { type: 'vote', term: 3, granted: false })
    n.take()
    n.election.receive('b', { type: 'heartbeat', term: 1, round: 2 })
    expect(n.election.info()).toMatchObject({ term: 1, leader: 'b' })
    expect(n.take('heartbeat-reply').map((s) => s.message)).toEqual([{ type: 'heartbeat-reply', term: 1, round: 2, ok: true, priority: 0, config: { stamp: 0, epoch: 0 } }])
  })
})

describe('voter configurations a hostile voter sends', () => {
  const abw = { voters: [{ peerId: 'a', canLead: true }, { peerId: 'b', canLead: true }, { peerId: 'w', canLead: false }], next: null }
  const stored = (n: ReturnType<typeof node>): unknown => (n.store.load() as { config?: unknown }).config

  it('refuses a witness\'s heartbeat that carries a configuration, before it reads it, with ELECTION_WITNESS_CANNOT_LEAD', () => {
    const n = node()
    n.election.start()
    n.election.receive('w', { type: 'heartbeat', term: 5, round: 1, configuration: { stamp: 5, epoch: 9, voters: [{ peerId: 'w', canLead: true }], next: null } })
    expect(n.election.refusals()).toMatchObject({ ELECTION_WITNESS_CANNOT_LEAD: 1 })
    expect(stored(n)).toBeUndefined()
    expect(n.election.info().term).toBe(0)
  })

  it('takes no configuration from a member\'s heartbeat whose term had to be lowered below the configuration\'s stamp', () => {
    const n = node()
    n.election.start()
    n.election.receive('b', { type: 'heartbeat', term: MAX_TERM, round: 1, configuration: { stamp: MAX_TERM, epoch: 0xffff_ffff, ...abw } })
    expect(n.election.info()).toMatchObject({ term: 2 ** 16, leader: 'b' })
    expect(stored(n)).toBeUndefined()
    // Its reply carries what it holds, with a stamp no higher than its term: it encodes.
    expect(n.take('heartbeat-reply').at(-1)?.message).toMatchObject({ term: 2 ** 16, config: { stamp: 0, epoch: 0 } })
  })

  it('takes a configuration whose stamp is within the lowered term, as sent', () => {
    const n = node()
    n.election.start()
    n.election.receive('b', { type: 'heartbeat', term: MAX_TERM, round: 1, configuration: { stamp: 7, epoch: 3, ...abw } })
    expect(stored(n)).toEqual({ stamp: 7, epoch: 3, ...abw })
    expect(n.take('heartbeat-reply').at(-1)?.message).toMatchObject({ term: 2 ** 16, config: { stamp: 7, epoch: 3 } })
  })

  it('lowers the stamp of a vote request whose term it lowers, so the request is no newer than its term allows', () => {
    const n = node()
    n.election.start()
    n.clock.advance(1100)
    n.election.receive('b', { type: 'request-vote', term: MAX_TERM, priority: 0, transfer: false, config: { stamp: MAX_TERM, epoch: 0xffff_ffff } })
    expect(n.take('vote').map((s) => s.message)).toEqual([{ type: 'vote', term: 2 ** 16, granted: true }])
    expect(n.store.load()).toMatchObject({ term: 2 ** 16, votedFor: 'b' })
  })
})
