/**
 * Leader election: Raft's election without its log (state travels by CRDT), as a pure state
 * machine. It owns no socket: `deps.send` carries messages out, `receive` brings them in, and
 * every timer runs on `deps.clock`, so tests drive it with a manual clock and a simulated net.
 *
 * Safety argument (quorum and witness modes), the invariants the code below keeps:
 *
 *  I1 One leader per term. A node votes at most once per term (votedFor), and persists the
 *     vote before it answers; a candidate needs a majority of the voters of its configuration;
 *     two majorities intersect, across a voter change too (voters.ts, C1 to C5: joint
 *     consensus, one change at a time, a voter refuses a candidate whose configuration is
 *     older than its own). Terms only grow on each node, across restarts (TermStore).
 *  I2 Lease. A leader dates each heartbeat round by when it was SENT (t, its clock). Once a
 *     majority (itself included) acknowledged round r, lease = max(lease, t + minTimeout -
 *     maxDrift). It steps down (lease:lost) at the first moment now >= lease without renewal;
 *     fence() refuses when now >= lease even if that timer has not run yet (paused process).
 *  I3 Stickiness. A voter that accepted a heartbeat at time h (its clock, h >= t) refuses every
 *     vote, and does not even adopt the candidate's term, until h + minTimeout. A node that
 *     (re)starts does the same from its boot (it may have acked a round just before dying and
 *     forgotten it). A leader refuses every vote while it leads. The only exception is a vote
 *     with `transfer: true`, which a node sends only on the election a TIMEOUT_NOW started,
 *     and a leader sends TIMEOUT_NOW only after it has stepped down (lease:lost fired).
 *  I4 Election timeouts are drawn from [minTimeout, maxTimeout) and restart on every accepted
 *     heartbeat and every granted vote, and at boot, so a node's vote for itself also
 *     respects I3.
 *  Hence: a new leader needs a vote from some voter of the majority that acked the old
 *  leader's last renewing round; that voter grants no earlier than h + minTimeout >= t +
 *  minTimeout, which is (with clock drift <= maxDrift) no earlier than the old lease's end.
 *  A transfer vote is safe because the only lease it could override was already given up,
 *  and its term (old term + 1) is refused by every voter that has since followed anyone newer.
 *
 * Modes: solo (one voter) leads at once. preferred-primary (exactly two machines, no witness)
 * counts a majority as 1 of 2 so the survivor of a failure takes over after its election
 * timeout; that also means a PARTITION GIVES TWO LEADERS, each with a self-granted lease, and
 * fencing cannot prevent it: the channels side must tolerate it (platform ids dedupe inbound
 * updates; the outbox is keyed so a reply is sent once per id). info().mode says so.
 *
 * PreVote (Raft thesis 9.6): a node whose election timer runs out first asks the voters
 * whether they would vote for it in the next term (PRE_VOTE), changing nothing anywhere, and
 * stands only with a majority of grants. A voter grants only when it has not heard a leader
 * within the minimum timeout. So a node cut off from the majority never raises its term, and
 * its return does not unseat a healthy leader. Elections a TIMEOUT_NOW starts skip it.
 *
 * Hostile input. A voter that cannot lead (the witness) may only answer: its HEARTBEAT,
 * REQUEST_VOTE, PRE_VOTE and TIMEOUT_NOW are refused (ELECTION_WITNESS_CANNOT_LEAD) before
 * anything reads their term, so a witness can neither be followed nor raise a term by them;
 * its answers (VOTE, PRE_VOTE_REPLY, HEARTBEAT_REPLY) raise a term by at most one each.
 * Terms are bounded by MAX_TERM (2^48 - 1) at decoding, so term + 1 is always exact; a node
 * whose term has reached MAX_TERM does not stand (ELECTION_TERM_EXHAUSTED), and nothing here
 * throws on any message a peer can send. A stored term out of range is repaired at start
 * (ELECTION_TERM_REPAIRED, see term-store.ts). A heartbeat whose term the step above had to
 * lower below the stamp of the configuration it carries loses that configuration (a stamp is
 * never above its message's term).
 */
// One state machine whose safety argument is the comment above: it stays in one file, past
// the 400 lines the style guide asks a reason for.
import type { Clock, TimerHandle } from '../runtime/index.js'
import type { Logger } from '../runtime/index.js'
import { MAX_EPOCH, MAX_TERM, isElectionTerm, type ConfigId, type ElectionMessage } from './election-protocol.js'
import { ElectionConfigRepairedError, ElectionFrameMalformedError, ElectionTermExhaustedError, ElectionWitnessCannotLeadError, ElectionWitnessTermRefusedError, LeaseTermStaleError } from './election-errors.js'
import { createRefusalLog, type RefusalLog } from './refusal-log.js'
import { checkStoredTerm } from './term-store.js'
import {
  bootConfig,
  compareConfigIds,
  configId,
  configMembers,
  configVoter,
  electionMode,
  isConfigMajority,
  parseStoredConfig,
  proposedChange,
  type ElectionMode,
  type VoterConfig,
} from './voters.js'

export type { ElectionMessage } from './election-protocol.js'
export { electionMode, majorityOf, type ElectionMode, type VoterConfig } from './voters.js'

export type ElectionRole = 'follower' | 'candidate' | 'leader'

export interface Voter {
  peerId: string
  priority: number
  /** A witness votes but never leads. */
  canLead: boolean
}

/**
 * Where a node keeps its term, vote and voter configuration; `save` must be durable before it
 * returns. `config` is absent (or null) on a node that never heard a leader; what `load` gives
 * is checked, so a store may hand back what it read as is.
 */
export interface TermStore {
  load(): { term: number; votedFor: string | null; config?: unknown }
  save(state: { term: number; votedFor: string | null; config?: VoterConfig | null }): void
}

export interface ElectionDeps {
  clock: Clock
  random: () => number
  self: string
  logger: Logger
  /**
   * The roster's current voters, this node included (and a witness if one is configured): what
   * the leader changes the configuration toward, never counted directly (voters.ts).
   */
  voters(): Voter[]
  /** Fire-and-forget; a message may be dropped. */
  send(to: string, message: ElectionMessage): void
  store: TermStore
  /** Where refused messages are counted and logged; one of its own on `clock` and `logger` if not given. */
  refusals?: RefusalLog
}

export interface ElectionOptions {
  heartbeatMs?: number
  electionTimeoutMinMs?: number
  electionTimeoutMaxMs?: number
  /**
   * The election timer is drawn from [electionTimeoutMinMs + this, electionTimeoutMaxMs), within
   * I4's range: the margin covers the skew between two voters' receipt of one heartbeat, so
   * a node's pre-vote does not reach a voter whose stickiness (electionTimeoutMinMs from its
   * own receipt) has a few ms to run, which would cost a whole timeout more.
   */
  electionTimeoutMarginMs?: number
  /** The most two members' clocks may disagree in rate over one lease; the lease is shortened by it. */
  maxClockDriftMs?: number
  /** Consecutive acknowledged rounds before a leader hands back to a higher-priority voter. */
  handbackAfterRounds?: number
}

/**
 * Timing defaults. Heartbeats every 50 ms and election timers drawn from [425, 700) ms, so a
 * failover (timeout, pre-vote, vote, first acknowledged round) ends well within a second
 * (etcd's 100 ms / 1 s and the Raft paper's 150-300 ms show the range). The lease is
 * electionTimeoutMinMs - maxClockDriftMs = 350 ms, still ending before any voter's stickiness
 * (I2, I3), so a leader has stepped down before anyone else can be elected; it is renewed by
 * every round a majority acknowledges, seven rounds a lease, so a leader rides out about
 * 300 ms without acknowledgements (an event-loop stall, a lost frame). The drift bound, 50 ms
 * over a 350 ms lease, is a rate difference of 14 %, far above any real clock's.
 */
export const ELECTION_DEFAULTS = {
  heartbeatMs: 50,
  electionTimeoutMinMs: 400,
  electionTimeoutMaxMs: 700,
  electionTimeoutMarginMs: 25,
  maxClockDriftMs: 50,
} as const

export interface LeaderInfo {
  leader: string | null
  term: number
  /** Only known on the leader. */
  leaseExpiresAt: number | null
  mode: ElectionMode
  self: string
  role: ElectionRole
}

export interface ElectionEvents {
  'lease:acquired': { term: number; signal: AbortSignal }
  'lease:lost': { term: number; reason: string }
}

export interface Election {
  start(): void
  stop(): void
  receive(from: string, message: ElectionMessage): void
  info(): LeaderInfo
  /** Throws LeaseTermStaleError unless this node leads in exactly `term` with an unexpired lease. */
  fence(term: number): void
  /** If leader: hand leadership to the best reachable voter at once and step down; resolves when done or after one heartbeat. */
  handOff(): Promise<void>
  on<E extends keyof ElectionEvents>(event: E, fn: (e: ElectionEvents[E]) => void): () => void
  /** Refused messages (and refusals to stand) so far, by code. */
  refusals(): Record<string, number>
}

const MAX_WIRE_PRIORITY = 0xffff
/** A joiner's configuration before a leader's reaches it: it counts nothing and never stands (C4). */
const NO_CONFIG: VoterConfig = { stamp: 0, epoch: 0, voters: [], next: null }
/** The most one member's message raises our term (honest elections move it by one at a time). */
const MAX_TERM_STEP = 2 ** 16
/** What only a leader or a candidate sends: refused from a voter that cannot lead. */
const LEADER_MESSAGES: ReadonlySet<ElectionMessage['type']> = new Set(['heartbeat', 'request-vote', 'pre-vote', 'timeout-now'])

interface Round {
  sentAt: number
  acks: Set<string>
}

interface PeerProgress {
  priority: number
  lastAckRound: number
  lastAckSentAt: number
  lastAckAt: number
  streak: number
  /** The configuration id of its last reply. */
  config: ConfigId
}

export function createElection(deps: ElectionDeps, options: ElectionOptions = {}): Election {
  const { clock, logger, self } = deps
  const heartbeatMs = options.heartbeatMs ?? ELECTION_DEFAULTS.heartbeatMs
  const minMs = options.electionTimeoutMinMs ?? ELECTION_DEFAULTS.electionTimeoutMinMs
  const maxMs = options.electionTimeoutMaxMs ?? ELECTION_DEFAULTS.electionTimeoutMaxMs
  const driftMs = options.maxClockDriftMs ?? ELECTION_DEFAULTS.maxClockDriftMs
  const marginMs = options.electionTimeoutMarginMs ?? ELECTION_DEFAULTS.electionTimeoutMarginMs
  const handbackAfterRounds = options.handbackAfterRounds ?? 5
  const leaseMs = minMs - driftMs
  if (!(driftMs >= 0 && leaseMs > heartbeatMs && heartbeatMs > 0 && marginMs >= 0 && maxMs > minMs + marginMs)) {
    throw new RangeError('election options need 0 < heartbeatMs < electionTimeoutMinMs - maxClockDriftMs and min + margin < max')
  }

  const refusals = deps.refusals ?? createRefusalLog({ clock, logger })
  let running = false
  let term = 0
  let votedFor: string | null = null
  /** The voter configuration held, or null before this node has heard a leader (voters.ts, C4). */
  let config: VoterConfig | null = null
  /** With no configuration: whether the store never had one (a genesis member: count the roster) or a joiner's none. */
  let genesis = true
  /** The term ELECTION_TERM_EXHAUSTED was last logged for, so it is said once, not on every timeout. */
  let exhaustedLoggedAt = -1
  // Read at once, so info() shows the stored term before start().
  loadState()
  let role: ElectionRole = 'follower'
  let leader: string | null = null
  /** When this node last accepted a heartbeat, or booted (I3). */
  let stickyUntil = -Infinity
  let electionTimer: TimerHandle | null = null
  let votes = new Set<string>()
  /** Grants of the open pre-vote round for term + 1, or null when none is open. */
  let preVotes: Set<string> | null = null
  // Leader state, reset on every election.
  let heartbeatTimer: TimerHandle | null = null
  let leaseTimer: TimerHandle | null = null
  let round = 0
  let rounds = new Map<number, Round>()
  let peers = new Map<string, PeerProgress>()
  let electedAt = 0
  let lease: number | null = null
  let held: AbortController | null = null
  /** Resends TIMEOUT_NOW after a hand-off until a newer term shows up (see transferTo). */
  let transferTimer: TimerHandle | null = null
  /** Pending handOff() calls, told the term of each heartbeat this node accepts. */
  const handOffWaiters = new Set<(seenTerm: number) => void>()
  const listeners = { 'lease:acquired': new Set<(e: never) => void>(), 'lease:lost': new Set<(e: never) => void>() }

  /** Leader state: who has replied holding exactly this node's configuration (itself included). */
  let configAcks = new Set<string>()

  const current = (): VoterConfig => config ?? (genesis ? bootConfig(deps.voters()) : NO_CONFIG)
  const myConfigId = (): ConfigId => configId(current())
  const rosterVoterOf = (peerId: string): Voter | undefined => deps.voters().find((v) => v.peerId === peerId)
  const priorityOf = (peerId: string): number => rosterVoterOf(peerId)?.priority ?? 0
  /** A voter of this node's configuration (the only ones counted). */
  const voterOf = (peerId: string): Voter | undefined => {
    const v = configVoter(current(), peerId)
    return v === undefined ? undefined : { peerId, canLead: v.canLead, priority: priorityOf(peerId) }
  }
  /** A voter of the configuration or of the roster: whose messages are read at all. */
  const participantOf = (peerId: string): Voter | undefined => voterOf(peerId) ?? rosterVoterOf(peerId)
  /** Voters of the configuration, and roster members it does not hold yet: who hears the leader. */
  const audience = (): string[] =>
    [...new Set([...configMembers(current()).map((v) => v.peerId), ...deps.voters().map((v) => v.peerId)])].filter((id) => id !== self)
  const ownPriority = (): number => wirePriority(priorityOf(self))
  const canStand = (): boolean => voterOf(self)?.canLead === true
  const isMajority = (ids: Set<string>): boolean => isConfigMajority(current(), ids)
  /** Whether a candidate may have this node's vote, its configuration id being `id` (C3). */
  const mayElect = (from: string, id: ConfigId): boolean => {
    const order = compareConfigIds(id, myConfigId())
    if (order < 0) return false
    // One this node's configuration does not list may lead only in a newer configuration.
    return voterOf(from)?.canLead === true || (order > 0 && participantOf(from)?.canLead === true)
  }

  function emit<E extends keyof ElectionEvents>(event: E, payload: ElectionEvents[E]): void {
    for (const fn of [...listeners[event]]) {
      try {
        ;(fn as (e: ElectionEvents[E]) => void)(payload)
      } catch (err) {
        logger.error({ event, code: (err as { code?: unknown }).code, err }, 'election listener threw')
      }
    }
  }

  /** The stored term and vote, repaired (and the repair saved) if the store holds a term out of range. */
  function loadState(): void {
    const loaded = deps.store.load()
    const checked = checkStoredTerm(loaded)
    if (checked.repair !== null) {
      deps.store.save(checked.state)
      logger.warn({ ...checked.repair }, 'the stored election term was out of range: repaired')
    }
    ;({ term, votedFor } = checked.state)
    const stored = parseStoredConfig(loaded.config)
    if (stored.problem !== null) {
      const err = new ElectionConfigRepairedError(stored.problem)
      logger.warn({ code: err.code, problem: stored.problem }, err.message)
      deps.store.save({ term, votedFor, config: null })
    }
    config = stored.config
    genesis = loaded.config === undefined
  }

  /**
   * Whether this node's term leaves room to stand (term + 1 <= MAX_TERM). Only a peer's frame
   * can bring a term to the bound; the node then follows whoever leads but never stands.
   */
  function termLeavesRoom(): boolean {
    if (term < MAX_TERM) return true
    const err = new ElectionTermExhaustedError(term)
    refusals.count(err.code)
    if (exhaustedLoggedAt !== term) {
      exhaustedLoggedAt = term
      logger.error({ code: err.code, term }, err.message)
    }
    return false
  }

  /** Durable before anything that depends on it is sent (I1). */
  function persist(nextTerm: number, nextVote: string | null): void {
    if (nextTerm < term) throw new RangeError(`term may not go back from ${term} to ${nextTerm}`)
    deps.store.save({ term: nextTerm, votedFor: nextVote, ...storedConfig() })
    term = nextTerm
    votedFor = nextVote
  }

  function armElectionTimer(): void {
    electionTimer?.cancel()
    electionTimer = null
    if (!running || role === 'leader') return
    const floorMs = minMs + marginMs
    const delay = floorMs + Math.floor(deps.random() * (maxMs - floorMs))
    electionTimer = clock.setTimeout(onElectionTimeout, Math.min(maxMs - 1, Math.max(floorMs, delay)))
  }

  function onElectionTimeout(): void {
    electionTimer = null
    if (!running || role === 'leader') return
    if (canStand()) startPreVote()
    else armElectionTimer()
  }

  function startPreVote(): void {
    leader = null
    preVotes = null
    armElectionTimer()
    if (!termLeavesRoom()) return
    preVotes = new Set([self])
    logger.debug({ term: term + 1 }, 'asking for pre-votes')
    if (isMajority(preVotes)) return startElection(false)
    const request: ElectionMessage = { type: 'pre-vote', term: term + 1, priority: ownPriority(), config: myConfigId() }
    for (const v of configMembers(current())) if (v.peerId !== self) deps.send(v.peerId, request)
  }

  function startElection(transfer: boolean): void {
    preVotes = null
    if (!termLeavesRoom()) {
      if (electionTimer === null) armElectionTimer()
      return
    }
    persist(term + 1, self)
    role = 'candidate'
    leader = null
    votes = new Set([self])
    armElectionTimer()
    logger.debug({ term, transfer }, 'standing for election')
    if (isMajority(votes)) {
      becomeLeader()
      return
    }
    const request: ElectionMessage = { type: 'request-vote', term, priority: ownPriority(), transfer, config: myConfigId() }
    for (const v of configMembers(current())) if (v.peerId !== self) deps.send(v.peerId, request)
  }

  function becomeLeader(): void {
    electionTimer?.cancel()
    electionTimer = null
    role = 'leader'
    leader = self
    electedAt = clock.now()
    lease = null
    held = null
    rounds = new Map()
    peers = new Map()
    logger.info({ term, mode: electionMode(current().voters) }, 'elected leader')
    // A genesis member that held none counted its roster: from now on that is the configuration (C4).
    if (config === null) setConfig({ ...current(), stamp: term })
    else configAcks = new Set([self])
    heartbeatTimer = clock.setInterval(sendRound, heartbeatMs)
    armLeaseTimer()
    sendRound()
  }

  /** Leader: hold `next` (durably), and count who holds it; the next heartbeats carry it. */
  function setConfig(next: VoterConfig): void {
    config = next
    save()
    configAcks = new Set([self])
    logger.info({ term, epoch: next.epoch, voters: next.voters.map((v) => v.peerId), next: next.next?.map((v) => v.peerId) ?? null }, 'voter configuration')
  }

  function save(): void {
    deps.store.save({ term, votedFor, ...storedConfig() })
  }

  /** What is stored of the configuration: nothing for a genesis member without one, so it stays one. */
  function storedConfig(): { config?: VoterConfig | null } {
    return config === null && genesis ? {} : { config }
  }

  /**
   * Leader: once its configuration is committed (a majority, of both halves if joint, holds its
   * id), take the next step: joint to next alone, or a new change toward the roster's voters,
   * or, left out of the configuration, hand over (voters.ts C2, C5).
   */
  function advanceConfig(): void {
    if (role !== 'leader') return
    const c = current()
    const next = c.next === null && canStand() ? proposedChange(c, deps.voters()) : null
    // The no-op of C3: before it finishes an older term's change or proposes one, a leader gets
    // its configuration restamped with its own term to a majority.
    if (c.stamp !== term && (c.next !== null || next !== null)) return setConfig({ ...c, stamp: term })
    if (!isMajority(configAcks)) return
    if (c.next === null && !canStand()) return transferTo(rankPeers(() => true)[0], 'not a voter')
    if (c.epoch >= MAX_EPOCH) return
    if (c.next !== null) return setConfig({ stamp: term, epoch: c.epoch + 1, voters: c.next, next: null })
    if (next !== null) setConfig({ stamp: term, epoch: c.epoch + 1, voters: c.voters, next })
  }

  /** The leader gives up when its lease (or, before the first one, its first chance of one) has passed. */
  function armLeaseTimer(): void {
    leaseTimer?.cancel()
    const deadline = lease ?? electedAt + leaseMs
    leaseTimer = clock.setTimeout(() => {
      leaseTimer = null
      if (role !== 'leader') return
      if (clock.now() >= (lease ?? electedAt + leaseMs)) stepDown(lease === null ? 'no quorum' : 'lease expired')
      else armLeaseTimer()
    }, deadline - clock.now())
  }

  function sendRound(): void {
    // The roster tells no one it changed: look each round (a solo leader commits at once), and
    // before the heartbeats, so that they carry the step taken.
    advanceConfig()
    if (role !== 'leader') return
    const now = clock.now()
    const leaderTerm = term
    round = (round + 1) >>> 0
    const sent = { sentAt: now, acks: new Set([self]) }
    for (const [r, old] of rounds) if (old.sentAt + leaseMs <= now) rounds.delete(r)
    rounds.set(round, sent)
    const heartbeat: ElectionMessage = { type: 'heartbeat', term, round }
    const c = current()
    // With the configuration to whoever has not shown it holds it (C3); its stamp is `term`.
    const carrying: ElectionMessage = { ...heartbeat, configuration: { stamp: c.stamp, epoch: c.epoch, voters: c.voters, next: c.next } }
    for (const peerId of audience()) deps.send(peerId, configAcks.has(peerId) ? heartbeat : carrying)
    if (role === 'leader' && term === leaderTerm && isMajority(sent.acks)) renew(sent.sentAt)
  }

  function renew(sentAt: number): void {
    const until = sentAt + leaseMs
    const now = clock.now()
    if (until <= now || (lease !== null && until <= lease)) return
    lease = until
    armLeaseTimer()
    if (held === null) {
      held = new AbortController()
      logger.info({ term, leaseExpiresAt: lease }, 'lease acquired')
      emit('lease:acquired', { term, signal: held.signal })
    }
  }

  /** Leaves leadership; lease:lost fires only if lease:acquired fired for this term. */
  function stepDown(reason: string): void {
    if (role !== 'leader') return
    heartbeatTimer?.cancel()
    leaseTimer?.cancel()
    heartbeatTimer = null
    leaseTimer = null
    role = 'follower'
    leader = null
    lease = null
    rounds = new Map()
    const wasHeld = held
    held = null
    armElectionTimer()
    logger.info({ term, reason }, 'stepped down')
    if (wasHeld !== null) {
      wasHeld.abort(new LeaseTermStaleError(term, term, reason))
      emit('lease:lost', { term, reason })
    }
  }

  /** Any message with a higher term: adopt it, as a follower (voting for `vote` in the same write). */
  function adoptTerm(next: number, vote: string | null = null): void {
    if (next <= term) return
    preVotes = null
    stepDown('higher term')
    persist(next, vote)
    role = 'follower'
    leader = null
    if (electionTimer === null) armElectionTimer()
  }

  function onRequestVote(from: string, m: Extract<ElectionMessage, { type: 'request-vote' }>): void {
    const refuse = (): void => deps.send(from, { type: 'vote', term, granted: false })
    if (participantOf(from)?.canLead !== true || participantOf(self) === undefined || m.term < term) return refuse()
    // I3: a live leader's followers (and the leader) neither vote nor adopt the term.
    if (role === 'leader' || (!m.transfer && clock.now() < stickyUntil)) return refuse()
    // voters.ts C3: no vote for a candidate whose configuration is older than ours (or lists it not).
    const upToDate = mayElect(from, m.config)
    adoptTerm(m.term, upToDate ? from : null)
    if (!upToDate) return refuse()
    if (votedFor !== null && votedFor !== from) return refuse()
    if (votedFor !== from) persist(term, from)
    armElectionTimer()
    logger.debug({ term, candidate: from, priority: m.priority, transfer: m.transfer }, 'vote granted')
    deps.send(from, { type: 'vote', term, granted: true })
  }

  /** Would this node vote for `from` in `m.term` now? Answered without changing any state. */
  function onPreVote(from: string, m: Extract<ElectionMessage, { type: 'pre-vote' }>): void {
    const grant =
      mayElect(from, m.config) && participantOf(self) !== undefined && m.term > term && role !== 'leader' && clock.now() >= stickyUntil
    deps.send(from, grant ? { type: 'pre-vote-reply', term: m.term, granted: true } : { type: 'pre-vote-reply', term, granted: false })
  }

  function onPreVoteReply(from: string, m: Extract<ElectionMessage, { type: 'pre-vote-reply' }>): void {
    // A refusal carries the voter's real term; a grant echoes the round's.
    if (!m.granted) {
      const stale = preVotes !== null && m.term > term
      adoptTerm(m.term)
      // Refused because our term was behind (a node that just restarted, or missed an
      // election): ask again at once in the newer term rather than a whole timeout later.
      // Voters that hear a leader refuse again with the same term, so this cannot loop.
      if (stale && running && role !== 'leader' && canStand()) startPreVote()
      return
    }
    if (preVotes === null || role === 'leader' || m.term !== term + 1) return
    preVotes.add(from)
    if (isMajority(preVotes)) startElection(false)
  }

  function onVote(from: string, m: Extract<ElectionMessage, { type: 'vote' }>): void {
    if (m.term > term) return adoptTerm(m.term)
    if (role !== 'candidate' || m.term !== term || !m.granted) return
    votes.add(from)
    if (isMajority(votes)) becomeLeader()
  }

  function onHeartbeat(from: string, m: Extract<ElectionMessage, { type: 'heartbeat' }>): void {
    const reply = (ok: boolean): void =>
      deps.send(from, { type: 'heartbeat-reply', term, round: m.round, ok, priority: ownPriority(), config: myConfigId() })
    if (m.term < term) return reply(false)
    adoptTerm(m.term)
    if (role === 'leader') {
      // Two leaders in one term happen only in preferred-primary (each may elect itself):
      // the higher priority, then the smaller peer id, keeps it.
      if (!outranks(from, self)) return reply(false)
      stepDown('superseded')
    }
    role = 'follower'
    preVotes = null
    if (leader !== from) logger.info({ term, leader: from }, 'following leader')
    leader = from
    stickyUntil = clock.now() + minMs
    armElectionTimer()
    takeConfig(m)
    reply(true)
    for (const waiter of [...handOffWaiters]) waiter(term)
  }

  function outranks(a: string, b: string): boolean {
    const pa = priorityOf(a)
    const pb = priorityOf(b)
    return pa !== pb ? pa > pb : a < b
  }

  /** A follower takes its leader's configuration when newer than its own, durably, before it replies (C3). */
  function takeConfig(m: Extract<ElectionMessage, { type: 'heartbeat' }>): void {
    if (m.configuration === undefined || compareConfigIds(m.configuration, myConfigId()) <= 0) return
    config = { ...m.configuration }
    save()
  }

  function onHeartbeatReply(from: string, m: Extract<ElectionMessage, { type: 'heartbeat-reply' }>): void {
    if (m.term > term) return adoptTerm(m.term)
    if (role !== 'leader' || m.term !== term || !m.ok) return
    const sent = rounds.get(m.round)
    if (sent === undefined) return
    const now = clock.now()
    const p = peers.get(from)
    if (p === undefined) {
      peers.set(from, { priority: m.priority, lastAckRound: m.round, lastAckSentAt: sent.sentAt, lastAckAt: now, streak: 1, config: m.config })
    } else if (sent.sentAt > p.lastAckSentAt) {
      p.streak = m.round === ((p.lastAckRound + 1) >>> 0) ? p.streak + 1 : 1
      Object.assign(p, { priority: m.priority, lastAckRound: m.round, lastAckSentAt: sent.sentAt, lastAckAt: now, config: m.config })
    }
    sent.acks.add(from)
    if (isMajority(sent.acks)) renew(sent.sentAt)
    // Who holds our configuration: a reply is sent after the heartbeat's was stored.
    if (compareConfigIds(m.config, myConfigId()) === 0) configAcks.add(from)
    else configAcks.delete(from)
    advanceConfig()
    if (role === 'leader') maybeHandBack()
  }

  /** A reachable, caught-up voter of strictly higher priority takes over (orderly handback). */
  function maybeHandBack(): void {
    const mine = ownPriority()
    const target = rankPeers((p) => p.priority > mine && p.lastAckRound === round && p.streak >= handbackAfterRounds)[0]
    if (target !== undefined) transferTo(target, 'handback')
  }

  /** Voters that can lead and pass `accept`, best first: priority, then most recent reply. */
  function rankPeers(accept: (p: PeerProgress) => boolean): string[] {
    return [...peers]
      .filter(([id, p]) => id !== self && voterOf(id)?.canLead === true && configAcks.has(id) && accept(p))
      .sort(([, a], [, b]) => b.priority - a.priority || b.lastAckAt - a.lastAckAt)
      .map(([id]) => id)
  }

  /**
   * Step down first (lease:lost fires), only then tell the target to stand (I3). A lost
   * TIMEOUT_NOW would leave the mesh to a timeout-speed election, so it is resent every
   * quarter heartbeat until this node sees a newer term (the target's vote request, or any
   * leader's heartbeat), for at most one minimum timeout. A duplicate is harmless: the
   * target ignores one whose term is below its own.
   */
  function transferTo(target: string | undefined, reason: string): void {
    const leaderTerm = term
    stepDown(reason)
    if (target === undefined) return
    logger.info({ term: leaderTerm, target, reason }, 'handing leadership over')
    const timeoutNow: ElectionMessage = { type: 'timeout-now', term: leaderTerm }
    deps.send(target, timeoutNow)
    transferTimer?.cancel()
    const giveUpAt = clock.now() + minMs
    transferTimer = clock.setInterval(() => {
      if (running && term === leaderTerm && role === 'follower' && clock.now() < giveUpAt) {
        deps.send(target, timeoutNow)
        return
      }
      transferTimer?.cancel()
      transferTimer = null
    }, Math.max(1, Math.floor(heartbeatMs / 4)))
  }

  function onTimeoutNow(m: Extract<ElectionMessage, { type: 'timeout-now' }>): void {
    if (m.term < term) return
    adoptTerm(m.term)
    if (role !== 'leader' && canStand()) startElection(true)
  }

  const election: Election = {
    start() {
      if (running) return
      running = true
      loadState()
      role = 'follower'
      leader = null
      stickyUntil = clock.now() + minMs
      if (electionMode(current().voters) === 'solo' && current().next === null && canStand()) startElection(false)
      else armElectionTimer()
    },

    stop() {
      if (!running) return
      stepDown('stopped')
      running = false
      electionTimer?.cancel()
      electionTimer = null
      transferTimer?.cancel()
      transferTimer = null
      preVotes = null
      role = 'follower'
      leader = null
      for (const waiter of [...handOffWaiters]) waiter(Infinity)
    },

    receive(from, message) {
      if (!running || from === self) return
      const voter = participantOf(from)
      if (voter === undefined) {
        logger.debug({ from, type: message.type }, 'election message from a non-voter ignored')
        return
      }
      // The decoder bounds terms already; this keeps a transport that skipped it from
      // bringing an unbounded term into the arithmetic below.
      if (!isElectionTerm(message.term)) {
        const err = new ElectionFrameMalformedError(`term ${String(message.term)} is not an integer in [0, 2^48-1]`)
        refusals.refuse(err.code, from, { type: message.type }, err.message)
        return
      }
      // Before anything reads its term: a witness is never followed, never voted for, and
      // raises no term by what only a leader or a candidate sends.
      if (!voter.canLead && LEADER_MESSAGES.has(message.type)) {
        const err = new ElectionWitnessCannotLeadError(from, message.type)
        refusals.refuse(err.code, from, { type: message.type, term: message.term, currentTerm: term }, 'election message refused: the sender votes but cannot lead')
        return
      }
      // Nor do its answers in a higher term unseat a live leader (a leader adopting the term
      // steps down; a follower that adopts it refuses the leader's next heartbeat, which
      // then steps down): a node that leads or hears a leader takes no term from a witness.
      // A candidate does, so one that restarted behind the witness's term catches up.
      if (!voter.canLead && message.term > term && (role === 'leader' || clock.now() < stickyUntil)) {
        const err = new ElectionWitnessTermRefusedError(from, message.term)
        refusals.refuse(err.code, from, { type: message.type, term: message.term, currentTerm: term }, 'election answer refused: a witness\'s term does not unseat a live leader')
        return
      }
      // A witness never stands, so the only terms it can know are members' and it is never
      // more than one ahead of a member that hears it: its answers raise our term by at most
      // one each. Adopting less than a sender's real term is safe (a term is only a lower
      // bound; a vote still needs a majority of that term), and it means a hostile witness
      // needs 2^47 frames, not one, to exhaust the term space. A member's message raises it
      // by at most MAX_TERM_STEP, so no single frame of a hostile member can bring the mesh
      // to MAX_TERM, where no node may stand again. A node that was away catches up one
      // round trip per term from the witness, and per MAX_TERM_STEP terms from a member.
      const step = voter.canLead ? MAX_TERM_STEP : 1
      if (message.term > term + step) {
        const lowered = term + step
        message = { ...message, term: lowered }
        if (message.type === 'heartbeat' && (message.configuration?.stamp ?? 0) > lowered) delete message.configuration
        // A config id's stamp is never above its message's term (the codec's rule).
        if ('config' in message && message.config.stamp > lowered) message = { ...message, config: { ...message.config, stamp: lowered } }
      }
      switch (message.type) {
        case 'request-vote':
          return onRequestVote(from, message)
        case 'vote':
          return onVote(from, message)
        case 'heartbeat':
          return onHeartbeat(from, message)
        case 'heartbeat-reply':
          return onHeartbeatReply(from, message)
        case 'timeout-now':
          return onTimeoutNow(message)
        case 'pre-vote':
          return onPreVote(from, message)
        case 'pre-vote-reply':
          return onPreVoteReply(from, message)
      }
    },

    info() {
      return {
        leader: role === 'leader' ? self : leader,
        term,
        leaseExpiresAt: role === 'leader' ? lease : null,
        mode: electionMode(current().voters.length > 0 ? current().voters : deps.voters()),
        self,
        role,
      }
    },

    fence(fencedTerm) {
      const problem =
        role !== 'leader'
          ? `this node is a ${role}`
          : fencedTerm !== term
            ? `this node leads term ${term}`
            : lease === null
              ? 'the first lease is not acknowledged yet'
              : clock.now() >= lease
                ? `the lease expired at ${lease}`
                : null
      if (problem !== null) throw new LeaseTermStaleError(fencedTerm, term, problem)
    },

    handOff() {
      if (role !== 'leader') return Promise.resolve()
      const reachableSince = clock.now() - minMs
      const target = rankPeers((p) => p.lastAckSentAt > reachableSince)[0]
      const leaderTerm = term
      return new Promise<void>((resolve) => {
        let timer: TimerHandle | null = null
        const waiter = (seenTerm: number): void => {
          if (seenTerm <= leaderTerm) return
          timer?.cancel()
          handOffWaiters.delete(waiter)
          resolve()
        }
        // Registered before the hand-off, in case the new leader's heartbeat comes back at once.
        handOffWaiters.add(waiter)
        transferTo(target, 'handoff')
        if (target === undefined || !running) return waiter(Infinity)
        timer = clock.setTimeout(() => waiter(Infinity), heartbeatMs)
      })
    },

    refusals: () => refusals.counts(),

    on(event, fn) {
      const set = listeners[event] as Set<typeof fn>
      set.add(fn)
      return () => {
        set.delete(fn)
      }
    },
  }
  return election
}

function wirePriority(priority: number): number {
  return Math.min(MAX_WIRE_PRIORITY, Math.max(0, Math.floor(priority)))
}
