import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../runtime/index.js'
import { ELECTION_DEFAULTS, createElection, electionMode, type ElectionOptions, type Voter } from '../../mesh/election.js'
import type { ElectionMessage } from '../../mesh/election-protocol.js'
import { findLeaseViolations } from '../../mesh/lease-log.js'
import { silentLogger } from '../../runtime/index.js'
import { createCluster, memoryTermStore, type Cluster, type SimMember } from '../support/sim-network.js'

const MAX_TIMEOUT = ELECTION_DEFAULTS.electionTimeoutMaxMs
const HEARTBEAT = ELECTION_DEFAULTS.heartbeatMs
/** The hand-fed node's timing, fixed so its rules are checked on round numbers whatever the defaults. */
const LONE_TIMING = { heartbeatMs: 200, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000, electionTimeoutMarginMs: 0, maxClockDriftMs: 100 } as const

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code ?? 'NO_CODE'
  }
  return 'NO_ERROR'
}

function cluster(members: Array<string | SimMember>, seed = 1, extra: { election?: ElectionOptions; exclusive?: boolean } = {}): Cluster {
  const c = createCluster({ members: members.map((m) => (typeof m === 'string' ? { id: m } : m)), seed, ...extra })
  for (const id of c.ids()) c.start(id)
  return c
}

function electOne(c: Cluster): string {
  expect(c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)).not.toBeNull()
  return c.holders()[0] as string
}

function expectSafe(c: Cluster): void {
  expect(c.violations).toEqual([])
  expect(findLeaseViolations(c.allIntervals())).toEqual([])
}

function lastAcquired(c: Cluster, id: string): number {
  const found = c.allIntervals().filter((i) => i.node === id)
  return found[found.length - 1]?.start ?? Number.NaN
}

/** One node with hand-fed messages, for exact rules. Time starts at 0; random 0.5 puts its timeout at 1500. */
function lone(self: string, ids: string[], options: ElectionOptions = {}, store = memoryTermStore()) {
  const clock = createManualClock(0)
  const sent: Array<{ to: string; message: ElectionMessage }> = []
  const order: string[] = []
  const voters: Voter[] = ids.map((peerId) => ({ peerId, priority: 0, canLead: true }))
  const logged = {
    load: () => store.load(),
    save: (s: { term: number; votedFor: string | null }) => {
      order.push(`save ${s.term} ${s.votedFor}`)
      store.save(s)
    },
  }
  const election = createElection(
    {
      clock,
      random: () => 0.5,
      self,
      logger: silentLogger,
      voters: () => voters,
      send: (to, message) => {
        order.push(`send ${message.type} ${to}`)
        sent.push({ to, message })
      },
      store: logged,
    },
    { ...LONE_TIMING, ...options },
  )
  const take = (type: ElectionMessage['type']): Array<{ to: string; message: ElectionMessage }> => {
    const found = sent.filter((s) => s.message.type === type)
    sent.length = 0
    return found
  }
  return { clock, election, store, sent, order, take }
}

/** Starts `node` ('a' of a, b, c) and makes it leader of term 1 with b's pre-vote, vote and first acknowledgement. */
function leadTermOne(node: ReturnType<typeof lone>): void {
  node.election.start()
  node.clock.advance(1500)
  node.election.receive('b', { type: 'pre-vote-reply', term: 1, granted: true })
  node.election.receive('b', { type: 'vote', term: 1, granted: true })
  // b holds a's configuration: the one a restamped with term 1 as it was elected.
  node.election.receive('b', { type: 'heartbeat-reply', term: 1, round: 1, ok: true, priority: 0, config: { stamp: 1, epoch: 0 } })
}

describe('election mode', () => {
  const machine = (peerId: string): Voter => ({ peerId, priority: 0, canLead: true })
  const witness: Voter = { peerId: 'w', priority: 0, canLead: false }

  it('names the mode from the voters', () => {
    expect(electionMode([machine('a')])).toBe('solo')
    expect(electionMode([machine('a'), machine('b')])).toBe('preferred-primary')
    expect(electionMode([machine('a'), machine('b'), witness])).toBe('witness')
    expect(electionMode([machine('a'), machine('b'), machine('c')])).toBe('quorum')
    expect(electionMode([machine('a'), machine('b'), machine('c'), witness])).toBe('quorum')
  })
})

describe('election on a simulated network', () => {
  it('leads at once as the only voter', () => {
    const c = cluster(['a'])
    expect(c.holders()).toEqual(['a'])
    expect(c.election('a').info()).toMatchObject({ leader: 'a', term: 1, mode: 'solo', role: 'leader' })
    c.advance(10_000)
    expect(c.holders()).toEqual(['a'])
    expectSafe(c)
  })

  it.each([3, 5])('elects exactly one leader among %i nodes and keeps it', (n) => {
    const c = cluster(Array.from({ length: n }, (_, i) => `n${i}`))
    const leader = electOne(c)
    c.advance(20_000)
    expect(c.holders()).toEqual([leader])
    for (const id of c.ids()) expect(c.election(id).info()).toMatchObject({ leader, mode: 'quorum' })
    expectSafe(c)
  })

  it('replaces a killed leader within the maximum timeout and a few heartbeats, in a higher term', () => {
    const c = cluster(['a', 'b', 'c', 'd', 'e'], 7)
    for (let k = 0; k < 3; k++) {
      const old = electOne(c)
      const oldTerm = c.election(old).info().term
      c.kill(old)
      const took = c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)
      expect(took).not.toBeNull()
      expect(took as number).toBeLessThanOrEqual(MAX_TIMEOUT + 4 * HEARTBEAT)
      const next = c.holders()[0] as string
      expect(c.election(next).info().term).toBeGreaterThan(oldTerm)
      c.start(old)
      c.advance(3000)
    }
    expectSafe(c)
  })

  it('steps a leader cut off from the majority down before the majority elects another', () => {
    const c = cluster(['a', 'b', 'c', 'd', 'e'], 3)
    const old = electOne(c)
    const buddy = c.ids().find((id) => id !== old) as string
    c.partition([old, buddy])
    expect(c.until(() => c.holders().some((h) => h !== old), 3 * MAX_TIMEOUT)).not.toBeNull()
    const next = c.holders().find((h) => h !== old) as string
    const lost = c.intervals.find((i) => i.node === old)
    expect(lost).toBeDefined()
    expect(lost?.end as number).toBeLessThanOrEqual(lastAcquired(c, next))
    expect(c.events.some((e) => e.includes(`${old} lost`) && e.includes('lease expired'))).toBe(true)
    c.advance(10_000)
    c.healAll()
    c.advance(10_000)
    expect(c.holders()).toHaveLength(1)
    expectSafe(c)
  })

  it('keeps a follower cut off for a long time from raising its term, so its return does not unseat the leader (PreVote)', () => {
    const c = cluster(['a', 'b', 'c'], 5)
    const leader = electOne(c)
    const loner = c.ids().find((id) => id !== leader) as string
    const term = c.election(leader).info().term
    c.partition([loner])
    c.advance(20_000)
    expect(c.election(loner).info().term).toBe(term)
    c.healAll()
    c.advance(5_000)
    expect(c.holders()).toEqual([leader])
    expect(c.election(leader).info().term).toBe(term)
    expect(c.election(loner).info().leader).toBe(leader)
    expect(c.events.some((e) => e.includes(`${leader} lost`))).toBe(false)
    expectSafe(c)
  })

  it('hands leadership back to a higher-priority node that joins, with no gap longer than a few heartbeats', () => {
    const c = cluster(['a', 'b', 'c'], 5)
    const old = electOne(c)
    const oldTerm = c.election(old).info().term
    c.addMember({ id: 'd', priority: 9 })
    expect(c.until(() => c.holders()[0] === 'd', 5000)).not.toBeNull()
    expect(c.election('d').info().term).toBe(oldTerm + 1)
    const handedBack = c.intervals.find((i) => i.node === old)
    expect(c.events.some((e) => e.includes(`${old} lost ${oldTerm} (handback)`))).toBe(true)
    expect(lastAcquired(c, 'd') - (handedBack?.end as number)).toBeLessThan(2 * HEARTBEAT)
    c.advance(10_000)
    expect(c.holders()).toEqual(['d'])
    expectSafe(c)
  })

  it('keeps a restarted higher-priority node from starting elections while it hears heartbeats', () => {
    const c = cluster(['a', 'b', { id: 'c', priority: 9 }], 11, { election: { handbackAfterRounds: 1_000_000 } })
    const leader = electOne(c)
    if (leader === 'c') {
      c.kill('c')
      c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)
    }
    const settled = c.holders()[0] as string
    const term = c.election(settled).info().term
    c.kill('c')
    c.advance(100)
    c.start('c')
    c.advance(20_000)
    expect(c.holders()).toEqual([settled])
    expect(c.election('c').info()).toMatchObject({ term, leader: settled, role: 'follower' })
    expect(c.store('c').saves.every((s) => s.votedFor !== 'c' || s.term < term)).toBe(true)
    expectSafe(c)
  })

  it('hands off on request in well under one election timeout', async () => {
    const c = cluster(['a', 'b', { id: 'c', priority: 2 }, 'd', 'e'], 13)
    let old = electOne(c)
    if (old === 'c') {
      const done = c.election('c').handOff()
      c.advance(HEARTBEAT)
      await done
      old = electOne(c)
    }
    const began = c.clock.now()
    const done = c.election(old).handOff()
    c.advance(HEARTBEAT)
    await done
    expect(c.until(() => c.holders().length === 1 && c.holders()[0] !== old, 1000)).not.toBeNull()
    expect(c.holders()).toEqual(['c'])
    expect(lastAcquired(c, 'c') - began).toBeLessThan(200)
    expect(c.events.some((e) => e.includes(`${old} lost`) && e.includes('handoff'))).toBe(true)
    expectSafe(c)
  })

  it('lets the surviving machine of two lead after its election timeout (preferred-primary)', () => {
    const c = cluster(['a', 'b'], 17)
    const old = electOne(c)
    expect(c.election(old).info().mode).toBe('preferred-primary')
    c.advance(5000)
    expect(c.holders()).toEqual([old])
    c.kill(old)
    const took = c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)
    expect(took as number).toBeLessThanOrEqual(MAX_TIMEOUT + 2 * HEARTBEAT)
    expectSafe(c)
  })

  it('gives two leaders when two machines without a witness are partitioned, and one again once healed', () => {
    const c = cluster(['a', 'b'], 19, { exclusive: false })
    electOne(c)
    c.partition(['a'], ['b'])
    expect(c.until(() => c.holders().length === 2, 3 * MAX_TIMEOUT)).not.toBeNull()
    c.healAll()
    expect(c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)).not.toBeNull()
    c.advance(5000)
    expect(c.holders()).toHaveLength(1)
  })

  it('lets a witness vote but never lead', () => {
    const c = cluster(['a', 'b', { id: 'w', canLead: false }], 23)
    const first = electOne(c)
    expect(c.election('w').info().mode).toBe('witness')
    c.kill(first)
    expect(c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)).not.toBeNull()
    const second = c.holders()[0] as string
    expect(second).not.toBe('w')
    c.kill(second)
    c.advance(30_000)
    expect(c.holders()).toEqual([])
    expect(c.election('w').info().role).toBe('follower')
    expect(c.store('w').saves.every((s) => s.votedFor !== 'w')).toBe(true)
    c.start(first)
    expect(c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)).not.toBeNull()
    expect(c.holders()).toEqual([first])
    expectSafe(c)
  })

  it('reports acquisitions with an AbortSignal that aborts when the lease is lost', () => {
    const c = cluster(['a', 'b', 'c'], 29)
    const leader = electOne(c)
    const signals: AbortSignal[] = []
    const lost: string[] = []
    for (const id of c.ids()) {
      c.election(id).on('lease:acquired', ({ signal }) => signals.push(signal))
      c.election(id).on('lease:lost', ({ reason }) => lost.push(reason))
    }
    c.kill(leader)
    c.until(() => c.holders().length === 1, 3 * MAX_TIMEOUT)
    const next = c.holders()[0] as string
    expect(signals).toHaveLength(1)
    c.election(next).stop()
    expect(signals[0]?.aborted).toBe(true)
    expect(lost).toEqual(['stopped'])
  })
})

describe('election rules on one node', () => {
  it('never votes twice in a term, even after a restart', () => {
    const store = memoryTermStore()
    const first = lone('v', ['a', 'b', 'v'], {}, store)
    first.election.start()
    first.clock.advance(1200)
    first.election.receive('a', { type: 'request-vote', term: 5, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(first.take('vote')).toEqual([{ to: 'a', message: { type: 'vote', term: 5, granted: true } }])
    expect(first.order).toEqual(['save 5 a', 'send vote a'])
    first.election.stop()

    const second = lone('v', ['a', 'b', 'v'], {}, store)
    second.election.start()
    second.clock.advance(1200)
    second.election.receive('b', { type: 'request-vote', term: 5, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(second.take('vote')).toEqual([{ to: 'b', message: { type: 'vote', term: 5, granted: false } }])
    second.election.receive('b', { type: 'request-vote', term: 6, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(second.take('vote')).toEqual([{ to: 'b', message: { type: 'vote', term: 6, granted: true } }])
    expect(store.load()).toEqual({ term: 6, votedFor: 'b' })
  })

  it('asks for pre-votes first, changing nothing, then persists its own vote before asking for votes', () => {
    const node = lone('a', ['a', 'b', 'c'])
    node.election.start()
    node.clock.advance(1500)
    expect(node.order).toEqual(['send pre-vote b', 'send pre-vote c'])
    expect(node.take('pre-vote')[0]?.message).toEqual({ type: 'pre-vote', term: 1, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(node.election.info().term).toBe(0)
    node.election.receive('c', { type: 'pre-vote-reply', term: 1, granted: true })
    expect(node.order.slice(2, 5)).toEqual(['save 1 a', 'send request-vote b', 'send request-vote c'])
  })

  it('grants a pre-vote only when it would vote, and never changes its term or vote for one', () => {
    const node = lone('v', ['a', 'b', 'v'])
    node.election.start()
    node.clock.advance(500)
    // Within the boot stickiness: refused, with the voter's own term.
    node.election.receive('a', { type: 'pre-vote', term: 1, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(node.take('pre-vote-reply')[0]?.message).toEqual({ type: 'pre-vote-reply', term: 0, granted: false })
    node.clock.advance(600)
    node.election.receive('a', { type: 'pre-vote', term: 1, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(node.take('pre-vote-reply')[0]?.message).toEqual({ type: 'pre-vote-reply', term: 1, granted: true })
    expect(node.store.load()).toEqual({ term: 0, votedFor: null })
    // A leader's heartbeat makes it refuse again for the minimum timeout.
    node.election.receive('b', { type: 'heartbeat', term: 3, round: 1 })
    node.election.receive('a', { type: 'pre-vote', term: 4, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(node.take('pre-vote-reply')[0]?.message).toEqual({ type: 'pre-vote-reply', term: 3, granted: false })
    // A term that is not above its own is refused even after the stickiness.
    node.clock.advance(1100)
    node.election.receive('a', { type: 'pre-vote', term: 3, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(node.take('pre-vote-reply')[0]?.message).toEqual({ type: 'pre-vote-reply', term: 3, granted: false })
  })

  it('stays in its term when its pre-votes are refused, and on a refusal carrying a higher term adopts it and asks again at once', () => {
    const node = lone('a', ['a', 'b', 'c'])
    node.election.start()
    node.clock.advance(1500)
    node.take('pre-vote')
    node.election.receive('b', { type: 'pre-vote-reply', term: 0, granted: false })
    node.election.receive('c', { type: 'pre-vote-reply', term: 0, granted: false })
    expect(node.election.info()).toMatchObject({ role: 'follower', term: 0 })
    expect(node.take('request-vote')).toEqual([])
    expect(node.take('pre-vote')).toEqual([])
    node.election.receive('c', { type: 'pre-vote-reply', term: 7, granted: false })
    expect(node.election.info().term).toBe(7)
    expect(node.take('pre-vote').map((s) => s.message)).toEqual([
      { type: 'pre-vote', term: 8, priority: 0, config: { stamp: 0, epoch: 0 } },
      { type: 'pre-vote', term: 8, priority: 0, config: { stamp: 0, epoch: 0 } },
    ])
    // Refused again in the same term (the voters hear a leader): no further round until the next timeout.
    node.election.receive('c', { type: 'pre-vote-reply', term: 7, granted: false })
    expect(node.take('pre-vote')).toEqual([])
    // A late grant for a round that no longer matches the term is ignored.
    node.election.receive('b', { type: 'pre-vote-reply', term: 1, granted: true })
    expect(node.election.info()).toMatchObject({ role: 'follower', term: 7 })
  })

  it('refuses votes within the minimum timeout of a heartbeat, and after boot, unless asked by a transfer', () => {
    const node = lone('v', ['a', 'b', 'v'])
    node.election.start()
    node.clock.advance(500)
    node.election.receive('a', { type: 'request-vote', term: 1, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(node.take('vote')[0]?.message).toEqual({ type: 'vote', term: 0, granted: false })
    node.clock.advance(600)
    node.election.receive('a', { type: 'heartbeat', term: 1, round: 1 })
    node.clock.advance(900)
    node.election.receive('b', { type: 'request-vote', term: 2, priority: 0, transfer: false, config: { stamp: 0, epoch: 0 } })
    expect(node.take('vote')[0]?.message).toEqual({ type: 'vote', term: 1, granted: false })
    expect(node.election.info()).toMatchObject({ term: 1, leader: 'a' })
    node.election.receive('b', { type: 'request-vote', term: 2, priority: 0, transfer: true, config: { stamp: 0, epoch: 0 } })
    expect(node.take('vote')[0]?.message).toEqual({ type: 'vote', term: 2, granted: true })
  })

  it('acquires the lease only once a majority acknowledges a round, dated from when the round was sent', () => {
    const node = lone('a', ['a', 'b', 'c'], { maxClockDriftMs: 100 })
    const acquired: number[] = []
    const lost: string[] = []
    let signal: AbortSignal | undefined
    node.election.on('lease:acquired', (e) => {
      acquired.push(e.term)
      signal = e.signal
    })
    node.election.on('lease:lost', (e) => lost.push(e.reason))
    node.election.start()
    node.clock.advance(1500)
    node.election.receive('b', { type: 'pre-vote-reply', term: 1, granted: true })
    node.election.receive('b', { type: 'vote', term: 1, granted: true })
    expect(node.election.info().role).toBe('leader')
    const sentAt = node.clock.now()
    const heartbeats = node.take('heartbeat')
    expect(heartbeats.map((h) => h.to)).toEqual(['b', 'c'])
    expect(acquired).toEqual([])
    expect(codeOf(() => node.election.fence(1))).toBe('LEASE_TERM_STALE')
    node.clock.advance(50)
    node.election.receive('c', { type: 'heartbeat-reply', term: 1, round: 1, ok: true, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(acquired).toEqual([1])
    expect(node.election.info().leaseExpiresAt).toBe(sentAt + 1000 - 100)
    node.election.fence(1)
    node.clock.advance(900)
    expect(lost).toEqual(['lease expired'])
    expect(signal?.aborted).toBe(true)
    expect(node.election.info().role).toBe('follower')
  })

  it('resends TIMEOUT_NOW after a hand-off until the target stands, in case one is lost', () => {
    const node = lone('a', ['a', 'b', 'c'])
    leadTermOne(node)
    node.take('heartbeat')
    void node.election.handOff()
    expect(node.take('timeout-now').map((s) => s.to)).toEqual(['b'])
    node.clock.advance(LONE_TIMING.heartbeatMs / 4)
    expect(node.take('timeout-now')).toEqual([{ to: 'b', message: { type: 'timeout-now', term: 1 } }])
    // The target stood: its vote request carries the next term, and the resending stops.
    node.election.receive('b', { type: 'request-vote', term: 2, priority: 0, transfer: true, config: { stamp: 0, epoch: 0 } })
    node.take('vote')
    node.clock.advance(LONE_TIMING.heartbeatMs * 2)
    expect(node.take('timeout-now')).toEqual([])
  })

  it('stops resending TIMEOUT_NOW after one minimum timeout when the target never answers', () => {
    const node = lone('a', ['a', 'b', 'c'])
    leadTermOne(node)
    void node.election.handOff()
    node.take('timeout-now')
    node.clock.advance(1000)
    const resent = node.take('timeout-now').length
    expect(resent).toBeGreaterThan(10)
    node.clock.advance(1000)
    expect(node.take('timeout-now')).toEqual([])
  })

  it('steps down at once on a reply carrying a higher term', () => {
    const node = lone('a', ['a', 'b', 'c'])
    const lost: string[] = []
    node.election.on('lease:lost', (e) => lost.push(e.reason))
    leadTermOne(node)
    node.election.receive('c', { type: 'heartbeat-reply', term: 4, round: 1, ok: false, priority: 0, config: { stamp: 0, epoch: 0 } })
    expect(lost).toEqual(['higher term'])
    expect(node.election.info()).toMatchObject({ role: 'follower', term: 4, leader: null })
    expect(node.store.load()).toMatchObject({ term: 4, votedFor: null })
  })

  it('fences out an old term, an expired lease and a follower with LEASE_TERM_STALE', () => {
    const c = cluster(['a', 'b', 'c'], 31)
    const leader = electOne(c)
    const term = c.election(leader).info().term
    c.election(leader).fence(term)
    expect(codeOf(() => c.election(leader).fence(term - 1))).toBe('LEASE_TERM_STALE')
    const follower = c.ids().find((id) => id !== leader) as string
    expect(codeOf(() => c.election(follower).fence(term))).toBe('LEASE_TERM_STALE')
    // A paused leader keeps believing it leads; the lease still ends on time.
    c.pause(leader)
    c.advance(1000)
    expect(c.election(leader).info().role).toBe('leader')
    expect(codeOf(() => c.election(leader).fence(term))).toBe('LEASE_TERM_STALE')
    c.resume(leader)
    expect(c.election(leader).info().role).toBe('follower')
  })

  it('stops quietly: lease:lost fires and no timer runs afterwards', () => {
    const node = lone('a', ['a'])
    const lost: string[] = []
    node.election.on('lease:lost', (e) => lost.push(e.reason))
    node.election.start()
    expect(node.election.info().role).toBe('leader')
    node.election.stop()
    node.election.stop()
    expect(lost).toEqual(['stopped'])
    const before = node.order.length
    node.clock.advance(60_000)
    expect(node.order.length).toBe(before)
    expect(codeOf(() => node.election.fence(1))).toBe('LEASE_TERM_STALE')
  })
})
