/**
 * Voter changes (mesh/voters.ts, C1 to C5), one election node driven by hand on a manual clock:
 * its roster may say one thing while its voter configuration says another, and only the
 * configuration is counted. Every message it sends goes through the codec, as on the wire.
 */
import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../runtime/index.js'
import { createElection, type Voter, type VoterConfig } from '../../mesh/election.js'
import { decodeElectionMessage, encodeElectionMessage, type ConfigId, type ConfigVoter, type ElectionMessage } from '../../mesh/election-protocol.js'
import { recordingLogger } from '../support/recording-logger.js'
import { memoryTermStore } from '../support/sim-network.js'

const HEARTBEAT = 200
const machines = (...ids: string[]): ConfigVoter[] => ids.map((peerId) => ({ peerId, canLead: true }))
const rosterOf = (...ids: string[]): Voter[] => ids.map((peerId) => ({ peerId, priority: 0, canLead: peerId !== 'w' }))

/** Node `self` holding `config` (stored before it starts) with `roster` as its roster's voters. Time starts at 0; its timeout is 1500. */
function node(self: string, roster: Voter[], config: VoterConfig | null, term = config?.stamp ?? 0) {
  const clock = createManualClock(0)
  const logger = recordingLogger()
  const store = memoryTermStore({ term, votedFor: null })
  if (config !== null) store.save({ term, votedFor: null, config } as never)
  const order: string[] = []
  const sent: Array<{ to: string; message: ElectionMessage }> = []
  const view = { roster }
  const election = createElection({
    clock,
    random: () => 0.5,
    self,
    logger,
    voters: () => view.roster,
    send: (to, message) => {
      order.push(`send ${message.type}`)
      sent.push({ to, message: decodeElectionMessage(encodeElectionMessage(message)) })
    },
    store: {
      load: () => store.load(),
      save: (s) => {
        order.push('save')
        store.save(s)
      },
    },
  }, { heartbeatMs: 200, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000, electionTimeoutMarginMs: 0, maxClockDriftMs: 100 })
  const take = (type?: ElectionMessage['type']): Array<{ to: string; message: ElectionMessage }> => {
    const found = sent.filter((s) => type === undefined || s.message.type === type)
    sent.length = 0
    return found
  }
  const stored = (): VoterConfig | undefined => (store.load() as { config?: VoterConfig }).config
  return { clock, logger, store, election, take, view, order, stored }
}

type Node = ReturnType<typeof node>
const id = (stamp: number, epoch: number): ConfigId => ({ stamp, epoch })
const ack = (n: Node, from: string, round: number, config: ConfigId): void =>
  n.election.receive(from, { type: 'heartbeat-reply', term: n.election.info().term, round, ok: true, priority: 0, config })

/** Makes `n` leader of term (its term + 1) with the votes of `voters`, at its first timeout. */
function elect(n: Node, voters: string[]): void {
  n.election.start()
  n.clock.advance(1500)
  const term = n.election.info().term + 1
  for (const v of voters) n.election.receive(v, { type: 'pre-vote-reply', term, granted: true })
  for (const v of voters) n.election.receive(v, { type: 'vote', term, granted: true })
}

/** The configuration the last heartbeats to `to` carried, if any. */
const carried = (sent: Array<{ to: string; message: ElectionMessage }>, to: string) => {
  const beat = sent.filter((s) => s.to === to && s.message.type === 'heartbeat').at(-1)?.message
  return beat?.type === 'heartbeat' ? beat.configuration : undefined
}

describe('a node counts its voter configuration, not its roster', () => {
  it('keeps counting the old majority when its roster has the new voter but its configuration does not', () => {
    const n = node('a', rosterOf('a', 'b', 'c', 'd'), { stamp: 1, epoch: 0, voters: machines('a', 'b', 'c'), next: null })
    n.election.start()
    n.clock.advance(1500)
    // It asks only the voters of its configuration, and a grant from d (its roster's, not its configuration's) counts for nothing.
    expect(n.take('pre-vote').map((s) => s.to)).toEqual(['b', 'c'])
    n.election.receive('d', { type: 'pre-vote-reply', term: 2, granted: true })
    expect(n.take('request-vote')).toEqual([])
    // One grant of b is a majority of {a, b, c}, though not of the roster's {a, b, c, d}.
    n.election.receive('b', { type: 'pre-vote-reply', term: 2, granted: true })
    expect(n.take('request-vote').map((s) => s.to)).toEqual(['b', 'c'])
    n.election.receive('d', { type: 'vote', term: 2, granted: true })
    expect(n.election.info().role).toBe('candidate')
    n.election.receive('b', { type: 'vote', term: 2, granted: true })
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 2, mode: 'quorum' })
  })

  it('never stands while it holds an explicit none (a machine that just paired), whatever its roster says', () => {
    const n = node('d', rosterOf('c', 'd', 'e'), null)
    n.store.save({ term: 0, votedFor: null, config: null } as never)
    n.election.start()
    n.clock.advance(10_000)
    expect(n.take('pre-vote')).toEqual([])
    expect(n.election.info().role).toBe('follower')
  })

  it('counts its roster while its store never held a configuration (a genesis member), as before voter changes', () => {
    const n = node('a', rosterOf('a', 'b', 'c', 'd'), null)
    n.election.start()
    n.clock.advance(1500)
    expect(n.take('pre-vote').map((s) => s.to)).toEqual(['b', 'c', 'd'])
    n.election.receive('b', { type: 'pre-vote-reply', term: 1, granted: true })
    expect(n.take('request-vote')).toEqual([])
  })

  it('takes a leader\'s configuration durably before it replies, and replies with its id', () => {
    const n = node('d', rosterOf('a', 'b', 'c', 'd'), null)
    n.election.start()
    n.order.length = 0
    const configuration = { stamp: 3, epoch: 4, voters: machines('a', 'b', 'c'), next: machines('a', 'b', 'c', 'd') }
    n.election.receive('a', { type: 'heartbeat', term: 3, round: 9, configuration })
    // The term it adopts, then the configuration, and only then the reply.
    expect(n.order).toEqual(['save', 'save', 'send heartbeat-reply'])
    expect(n.stored()).toEqual(configuration)
    expect(n.take('heartbeat-reply')[0]?.message).toMatchObject({ ok: true, config: id(3, 4) })
    // An older one that arrives late (reordered) is not taken.
    n.election.receive('a', { type: 'heartbeat', term: 3, round: 8, configuration: { stamp: 3, epoch: 3, voters: machines('a', 'b', 'c'), next: null } })
    expect(n.stored()).toEqual(configuration)
    expect(n.take('heartbeat-reply')[0]?.message).toMatchObject({ config: id(3, 4) })
  })
})

describe('a voter refuses a candidate whose configuration is older than its own', () => {
  const held: VoterConfig = { stamp: 4, epoch: 2, voters: machines('a', 'b', 'c'), next: null }

  it.each([
    ['an older stamp', id(3, 9), false],
    ['the same stamp and an older epoch', id(4, 1), false],
    ['the same id', id(4, 2), true],
    ['a newer epoch', id(4, 3), true],
    ['a newer stamp', id(5, 0), true],
  ])('votes and pre-votes for one with %s only when it is at least as new', (_name, config, granted) => {
    const n = node('b', rosterOf('a', 'b', 'c'), held, 4)
    n.election.start()
    n.clock.advance(1000)
    n.election.receive('a', { type: 'pre-vote', term: 6, priority: 0, config })
    expect(n.take('pre-vote-reply')[0]?.message).toMatchObject({ granted })
    n.election.receive('a', { type: 'request-vote', term: 6, priority: 0, transfer: false, config })
    expect(n.take('vote')[0]?.message).toEqual({ type: 'vote', term: 6, granted })
    expect(n.store.load()).toMatchObject({ term: 6, votedFor: granted ? 'a' : null })
  })

  it('votes for a candidate its configuration does not list only when the candidate\'s configuration is newer', () => {
    const n = node('b', rosterOf('a', 'b', 'c', 'd'), held, 4)
    n.election.start()
    n.clock.advance(1000)
    n.election.receive('d', { type: 'request-vote', term: 5, priority: 0, transfer: false, config: id(4, 2) })
    expect(n.take('vote')[0]?.message).toMatchObject({ granted: false })
    n.election.receive('d', { type: 'request-vote', term: 6, priority: 0, transfer: false, config: id(4, 3) })
    expect(n.take('vote')[0]?.message).toMatchObject({ granted: true })
  })
})

describe('a leader changes the voters one change at a time, by joint consensus', () => {
  /** a leads {a, b, c} (stamp 1) in term 2; its roster then gains d. */
  function leading() {
    const n = node('a', rosterOf('a', 'b', 'c'), { stamp: 1, epoch: 0, voters: machines('a', 'b', 'c'), next: null }, 1)
    elect(n, ['b'])
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 2 })
    return n
  }

  it('proposes no change before its configuration is restamped with its term and that is held by a majority', () => {
    const n = leading()
    n.view.roster = rosterOf('a', 'b', 'c', 'd')
    n.take()
    n.clock.advance(HEARTBEAT)
    // The no-op: the same voters, stamped 2, to everyone (d, a roster member, hears it too).
    expect(n.stored()).toEqual({ stamp: 2, epoch: 0, voters: machines('a', 'b', 'c'), next: null })
    const sent = n.take()
    expect(carried(sent, 'd')).toEqual({ stamp: 2, epoch: 0, voters: machines('a', 'b', 'c'), next: null })
    n.clock.advance(HEARTBEAT)
    expect(n.stored()?.next).toBeNull()
    // b holds it: a majority of {a, b, c}. Only now the change {a, b, c} → {a, b, c, d}.
    ack(n, 'b', 3, id(2, 0))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 1, voters: machines('a', 'b', 'c'), next: machines('a', 'b', 'c', 'd') })
  })

  it('needs a majority of both the old and the new voters, while joint, for the lease and to finish the change', () => {
    const n = leading()
    n.view.roster = rosterOf('a', 'b', 'c', 'd')
    n.clock.advance(HEARTBEAT)
    ack(n, 'b', 2, id(2, 0))
    expect(n.stored()?.epoch).toBe(1)
    n.take()
    n.clock.advance(HEARTBEAT)
    const round = 3
    const before = n.election.info().leaseExpiresAt
    // b alone: {a, b} is a majority of {a, b, c} but not of {a, b, c, d}.
    ack(n, 'b', round, id(2, 1))
    expect(n.election.info().leaseExpiresAt).toBe(before)
    expect(n.stored()?.next).not.toBeNull()
    // d too: {a, b, d} is 3 of 4 and 2 of 3. The lease renews from this round, and the change ends.
    ack(n, 'd', round, id(2, 1))
    expect(n.election.info().leaseExpiresAt).toBeGreaterThan(before ?? 0)
    expect(n.stored()).toEqual({ stamp: 2, epoch: 2, voters: machines('a', 'b', 'c', 'd'), next: null })
  })

  it('does not start a second change while one is under way', () => {
    const n = leading()
    n.view.roster = rosterOf('a', 'b', 'c', 'd')
    n.clock.advance(HEARTBEAT)
    ack(n, 'b', 2, id(2, 0))
    n.view.roster = rosterOf('a', 'b', 'c', 'd', 'e')
    n.clock.advance(HEARTBEAT)
    ack(n, 'b', 3, id(2, 1))
    // Joint {a,b,c} + {a,b,c,d} is not committed without a majority of the new half: no e yet.
    expect(n.stored()).toEqual({ stamp: 2, epoch: 1, voters: machines('a', 'b', 'c'), next: machines('a', 'b', 'c', 'd') })
    n.clock.advance(HEARTBEAT)
    ack(n, 'd', 4, id(2, 1))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 2, voters: machines('a', 'b', 'c', 'd'), next: null })
    // {a, b, c, d} held by a, b and d (3 of 4): now the next change, toward e.
    ack(n, 'b', 4, id(2, 2))
    expect(n.stored()?.epoch).toBe(2)
    ack(n, 'd', 4, id(2, 2))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 3, voters: machines('a', 'b', 'c', 'd'), next: machines('a', 'b', 'c', 'd', 'e') })
  })

  it('carries the configuration only to voters that have not shown they hold it', () => {
    const n = leading()
    n.clock.advance(HEARTBEAT)
    ack(n, 'b', 2, id(1, 0))
    n.take()
    n.clock.advance(HEARTBEAT)
    const sent = n.take('heartbeat')
    expect(carried(sent, 'b')).toBeUndefined()
    expect(carried(sent, 'c')).toEqual({ stamp: 1, epoch: 0, voters: machines('a', 'b', 'c'), next: null })
  })

  it('swaps the witness out for a third machine in one joint change', () => {
    const n = node('a', rosterOf('a', 'b', 'w'), { stamp: 1, epoch: 0, voters: [...machines('a', 'b'), { peerId: 'w', canLead: false }], next: null }, 1)
    elect(n, ['w'])
    expect(n.election.info()).toMatchObject({ role: 'leader', mode: 'witness' })
    n.view.roster = rosterOf('a', 'b', 'c')
    n.clock.advance(HEARTBEAT)
    ack(n, 'w', 2, id(2, 0))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 1, voters: [...machines('a', 'b'), { peerId: 'w', canLead: false }], next: machines('a', 'b', 'c') })
    n.clock.advance(HEARTBEAT)
    ack(n, 'w', 3, id(2, 1))
    expect(n.stored()?.epoch).toBe(1)
    ack(n, 'c', 3, id(2, 1))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 2, voters: machines('a', 'b', 'c'), next: null })
    expect(n.election.info().mode).toBe('quorum')
  })

  it('finishes a change of an older term only after restamping it with its own term', () => {
    const joint: VoterConfig = { stamp: 1, epoch: 1, voters: machines('a', 'b', 'c'), next: machines('a', 'b', 'c', 'd') }
    const n = node('a', rosterOf('a', 'b', 'c', 'd'), joint, 1)
    elect(n, ['b', 'd'])
    expect(n.election.info()).toMatchObject({ role: 'leader', term: 2 })
    n.clock.advance(HEARTBEAT)
    // Acks of the old id count for nothing: a and b and d held it in term 1 already.
    ack(n, 'b', 2, id(1, 1))
    ack(n, 'd', 2, id(1, 1))
    expect(n.stored()).toEqual({ ...joint, stamp: 2 })
    n.clock.advance(HEARTBEAT)
    ack(n, 'b', 3, id(2, 1))
    ack(n, 'd', 3, id(2, 1))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 2, voters: machines('a', 'b', 'c', 'd'), next: null })
  })

  it('hands over and steps down once a committed configuration leaves it out', () => {
    const n = node('a', rosterOf('b', 'c', 'd'), { stamp: 1, epoch: 0, voters: machines('a', 'b', 'c', 'd'), next: null }, 1)
    const lost: string[] = []
    n.election.on('lease:lost', (e) => lost.push(e.reason))
    elect(n, ['b', 'c'])
    n.clock.advance(HEARTBEAT)
    for (const peer of ['b', 'c']) ack(n, peer, 2, id(2, 0))
    expect(n.stored()?.next).toEqual(machines('b', 'c', 'd'))
    n.clock.advance(HEARTBEAT)
    for (const peer of ['b', 'c']) ack(n, peer, 3, id(2, 1))
    expect(n.stored()).toEqual({ stamp: 2, epoch: 2, voters: machines('b', 'c', 'd'), next: null })
    expect(n.election.info().role).toBe('leader')
    n.take()
    n.clock.advance(HEARTBEAT)
    for (const peer of ['b', 'c']) ack(n, peer, 4, id(2, 2))
    expect(n.election.info().role).toBe('follower')
    expect(lost).toEqual(['not a voter'])
    expect(n.take('timeout-now').map((s) => s.to)).toEqual(['b'])
    // And it never stands again: it is no voter of its configuration.
    n.clock.advance(10_000)
    expect(n.take('pre-vote')).toEqual([])
  })
})

describe('a stored configuration', () => {
  it('that cannot be used is dropped with ELECTION_CONFIG_REPAIRED: the node then counts nothing until a leader sends one', () => {
    const n = node('a', rosterOf('a', 'b', 'c'), { stamp: 1, epoch: 0, voters: [], next: null } as VoterConfig, 1)
    n.election.start()
    expect(n.logger.codes()).toContain('ELECTION_CONFIG_REPAIRED')
    expect(n.stored()).toBeNull()
    n.clock.advance(10_000)
    expect(n.take('pre-vote')).toEqual([])
    n.election.receive('b', { type: 'heartbeat', term: 2, round: 1, configuration: { stamp: 2, epoch: 0, voters: machines('a', 'b', 'c'), next: null } })
    expect(n.stored()).toEqual({ stamp: 2, epoch: 0, voters: machines('a', 'b', 'c'), next: null })
  })
})
