/**
 * A simulated network of election nodes on one manual clock (so zero clock drift): seeded
 * delays and drops, cut links, paused processes (their timers and deliveries queue until
 * resumed, as under SIGSTOP), killed processes (everything they had pending is gone, as under
 * SIGKILL) and restarts from the persisted TermStore. Every message goes through the election
 * codec on its way. The cluster records each node's lease intervals and checks at every step
 * that no two live nodes hold an unexpired lease at once.
 *
 * Membership. The roster is a list of signed add and remove events, as in mesh/roster.ts, and
 * each node has its own view of it, a prefix of that list (a sync brings a peer's whole state,
 * so what a node lacks is what was made last): a change is made on a node that has synced the
 * whole roster, is known at once only there (and to the machine it pairs), and reaches each
 * other node when the test says (`learnRoster`, `spreadRoster`), as roster sync would. A node's voters are computed from its view as mesh/voters.ts does
 * (members, and the witness when there are exactly two), and a node removed in its own view
 * has only itself as a voter that cannot lead, as mesh-service.ts does. The gater is modelled
 * too: nothing passes between two nodes when either's view has removed the other, nor from
 * or to a node whose view has removed itself.
 */
import { createManualClock, type Clock, type ManualClock, type TimerHandle } from '../../runtime/index.js'
import { createElection, type Election, type ElectionOptions, type TermStore, type Voter } from '../../mesh/election.js'
import { decodeElectionMessage, encodeElectionMessage, type ElectionMessage } from '../../mesh/election-protocol.js'
import type { LeaseInterval } from '../../mesh/lease-log.js'
import { silentLogger } from '../../runtime/index.js'
import { mulberry32 as seededRandom } from './seeded-random.js'

export { seededRandom }

export type ProcessState = 'running' | 'paused' | 'dead'

/** One incarnation of a node process: its clock, and the door every callback into it goes through. */
export interface SimProcess {
  readonly clock: Clock
  state(): ProcessState
  /** Runs `fn` now, queues it while paused, drops it once dead. */
  run(fn: () => void): void
  pause(): void
  resume(): void
  kill(): void
}

export function createSimProcess(base: ManualClock, after: () => void = () => undefined): SimProcess {
  let state: ProcessState = 'running'
  const queue: Array<{ fn: () => void; live: () => boolean }> = []
  const armed = new Set<TimerHandle>()
  const run = (fn: () => void, live: () => boolean = () => true): void => {
    if (state === 'dead' || !live()) return
    if (state === 'paused') {
      queue.push({ fn, live })
      return
    }
    fn()
    after()
  }
  const arm = (fn: () => void, ms: number, repeat: boolean): TimerHandle => {
    let cancelled = false
    let queued = false
    const live = (): boolean => !cancelled
    const fire = (): void => {
      if (!repeat) armed.delete(handle)
      // A paused process runs an overdue interval once when it wakes, as Node does.
      if (state === 'paused' && queued) return
      queued = state === 'paused'
      run(() => {
        queued = false
        fn()
      }, live)
    }
    const inner = repeat ? base.setInterval(fire, ms) : base.setTimeout(fire, ms)
    const handle: TimerHandle = {
      cancel: () => {
        cancelled = true
        armed.delete(handle)
        inner.cancel()
      },
    }
    armed.add(handle)
    return handle
  }
  const clock: Clock = {
    now: () => base.now(),
    setTimeout: (fn, ms) => arm(fn, ms, false),
    setInterval: (fn, ms) => arm(fn, ms, true),
    sleep: (ms, options) =>
      new Promise((resolve, reject) => {
        const signal = options?.signal
        if (signal?.aborted) return reject(signal.reason)
        const handle = arm(resolve, ms, false)
        signal?.addEventListener('abort', () => {
          handle.cancel()
          reject(signal.reason)
        })
      }),
    // The election never asks for one; a paused process's timeouts fire on resume, as its timers do.
    timeoutSignal: (ms, options) => {
      const controller = new AbortController()
      arm(() => controller.abort(new DOMException('The operation timed out', 'TimeoutError')), ms, false)
      options?.signal?.addEventListener('abort', () => controller.abort(options.signal?.reason), { once: true })
      return controller.signal
    },
  }
  return {
    clock,
    state: () => state,
    run: (fn) => run(fn),
    pause() {
      if (state === 'running') state = 'paused'
    },
    resume() {
      if (state !== 'paused') return
      state = 'running'
      for (const item of queue.splice(0)) run(item.fn, item.live)
    },
    kill() {
      state = 'dead'
      queue.length = 0
      for (const handle of [...armed]) handle.cancel()
    },
  }
}

export interface SimMember {
  id: string
  priority?: number
  canLead?: boolean
  /** What its TermStore holds before it first starts (default term 0, no vote, no configuration field: a genesis member). */
  stored?: { term: number; votedFor: string | null; config?: unknown }
}

export interface ClusterOptions {
  members: SimMember[]
  seed: number
  election?: ElectionOptions
  /** One-way delay range in ms; default [1, 10]. */
  delayMs?: [number, number]
  dropRate?: number
  /** Whether two live lease holders at once are a violation (not in preferred-primary); default true. */
  exclusive?: boolean
}

/** A TermStore in memory that outlives the node processes using it. */
/** A TermStore in memory that records every save; `initial` is returned as is, even out of range (to test repairs). */
export function memoryTermStore(initial: { term: number; votedFor: string | null; config?: unknown } = { term: 0, votedFor: null }): TermStore & { saves: Array<{ term: number; votedFor: string | null; config?: unknown }> } {
  let state = { ...initial }
  const saves: Array<{ term: number; votedFor: string | null; config?: unknown }> = []
  return {
    saves,
    load: () => ({ ...state }),
    save(next) {
      state = { ...next }
      saves.push({ ...next })
    },
  }
}

interface NodeSlot {
  member: Required<Omit<SimMember, 'stored'>>
  store: ReturnType<typeof memoryTermStore>
  process: SimProcess | null
  election: Election | null
  open: Omit<LeaseInterval, 'end'> | null
  leaseSeen: number | null
  lastTerm: number
}

export type Cluster = ReturnType<typeof createCluster>

export function createCluster(options: ClusterOptions) {
  const clock = createManualClock(1_000_000)
  const random = seededRandom(options.seed)
  const slots = new Map<string, NodeSlot>()
  /** The roster's events, in the order they were made; a view is how many of them a node knows. */
  const events_: Array<{ kind: 'add'; voter: Voter } | { kind: 'remove'; id: string }> = []
  const views = new Map<string, number>()
  const cuts = new Set<string>()
  let delay = options.delayMs ?? [1, 10]
  let dropRate = options.dropRate ?? 0
  const intervals: LeaseInterval[] = []
  const violations: string[] = []
  const events: string[] = []
  let messages = 0

  const linkKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`)
  const blocked = (a: string, b: string): boolean => cuts.has(linkKey(a, b))
  const slot = (id: string): NodeSlot => {
    const s = slots.get(id)
    if (s === undefined) throw new Error(`no node ${id}`)
    return s
  }

  for (const m of options.members) addMember(m, false)

  /** A new node, known to every view (at = undefined) or, as a machine that just paired, to `at`'s view and its own. */
  function addMember(m: SimMember, start = true, at?: string): void {
    const member = { priority: 0, canLead: true, id: m.id, ...(m.priority === undefined ? {} : { priority: m.priority }), ...(m.canLead === undefined ? {} : { canLead: m.canLead }) }
    // A machine that pairs stores an explicit none, as mesh-service.ts does on a join (voters.ts C4).
    const stored = m.stored ?? (at === undefined ? undefined : { term: 0, votedFor: null, config: null })
    slots.set(m.id, { member, store: memoryTermStore(stored), process: null, election: null, open: null, leaseSeen: null, lastTerm: 0 })
    if (at !== undefined) views.set(at, events_.length)
    events_.push({ kind: 'add', voter: { peerId: member.id, priority: member.priority, canLead: member.canLead } })
    if (at === undefined) {
      for (const id of views.keys()) views.set(id, events_.length)
    } else {
      views.set(at, events_.length)
    }
    views.set(m.id, events_.length)
    if (start) startNode(m.id)
  }

  function view(id: string): number {
    const v = views.get(id)
    if (v === undefined) throw new Error(`no node ${id}`)
    return v
  }

  /** Whether `id`'s view of the roster has removed `peer`. */
  function removedIn(id: string, peer: string): boolean {
    return events_.slice(0, view(id)).some((e) => e.kind === 'remove' && e.id === peer)
  }

  /** The voters `id` computes from its view (mesh/voters.ts rosterVoters, and mesh-service's removed case). */
  function rosterVotersOf(id: string): Voter[] {
    if (removedIn(id, id)) return [{ peerId: id, priority: slot(id).member.priority, canLead: false }]
    const known = events_.slice(0, view(id))
    const present = known.flatMap((e) => (e.kind === 'add' && !removedIn(id, e.voter.peerId) ? [e.voter] : []))
    const members = present.filter((v) => v.canLead)
    const witness = present.find((v) => !v.canLead)
    return members.length === 2 && witness !== undefined ? [...members, witness].map((v) => ({ ...v })) : members.map((v) => ({ ...v }))
  }

  /** The gater: refused when either side's view has removed the other, or itself. */
  function gated(from: string, to: string): boolean {
    return removedIn(from, to) || removedIn(to, from) || removedIn(from, from) || removedIn(to, to)
  }

  function send(from: string, to: string, message: ElectionMessage): void {
    messages++
    const frame = encodeElectionMessage(message)
    if (blocked(from, to) || gated(from, to) || random() < dropRate) return
    const ms = delay[0] + random() * (delay[1] - delay[0])
    clock.setTimeout(() => {
      const target = slots.get(to)
      if (blocked(from, to) || gated(from, to) || target === undefined || target.process === null || target.election === null) return
      const election = target.election
      target.process.run(() => election.receive(from, decodeElectionMessage(frame)))
    }, ms)
  }

  /** After every callback into a node: terms never go back, and note the lease it holds. */
  function observe(s: NodeSlot): void {
    if (s.election === null) return
    const info = s.election.info()
    if (info.term < s.lastTerm) violations.push(`${s.member.id} term went back from ${s.lastTerm} to ${info.term} at ${clock.now()}`)
    s.lastTerm = Math.max(s.lastTerm, info.term)
    s.leaseSeen = info.role === 'leader' ? info.leaseExpiresAt : null
  }

  function close(s: NodeSlot, end: number): void {
    if (s.open === null) return
    intervals.push({ ...s.open, end: Math.max(s.open.start, end) })
    s.open = null
  }

  function startNode(id: string): Election {
    const s = slot(id)
    if (s.process !== null && s.process.state() !== 'dead') throw new Error(`${id} is already running`)
    const process = createSimProcess(clock, () => observe(s))
    const election = createElection(
      {
        clock: process.clock,
        random,
        self: id,
        logger: silentLogger,
        voters: () => rosterVotersOf(id),
        send: (to, message) => send(id, to, message),
        store: s.store,
      },
      options.election,
    )
    s.process = process
    s.election = election
    election.on('lease:acquired', ({ term }) => {
      events.push(`${clock.now()} ${id} acquired ${term}`)
      s.open = { node: id, term, start: clock.now() }
    })
    election.on('lease:lost', ({ term, reason }) => {
      events.push(`${clock.now()} ${id} lost ${term} (${reason})`)
      // The lease it held before this callback bounds the interval (a paused node learns late).
      close(s, Math.min(clock.now(), s.leaseSeen ?? clock.now()))
    })
    process.run(() => election.start())
    return election
  }

  function holders(): string[] {
    const now = clock.now()
    return [...slots.values()]
      .filter((s) => s.process?.state() !== 'dead' && s.election !== null)
      .filter((s) => {
        const info = s.election?.info()
        return info?.role === 'leader' && info.leaseExpiresAt !== null && now < info.leaseExpiresAt
      })
      .map((s) => s.member.id)
  }

  /** Advances time in steps, checking after each that at most one live node holds a lease. */
  function advance(ms: number, step = 5): void {
    const target = clock.now() + ms
    while (clock.now() < target) {
      clock.set(Math.min(target, clock.now() + step))
      const h = holders()
      if (h.length > 1 && (options.exclusive ?? true)) violations.push(`at ${clock.now()} ${h.join(' and ')} all hold an unexpired lease`)
    }
  }

  /** Advances until `condition` holds (checking as `advance` does); returns the time it took, or null. */
  function until(condition: () => boolean, limitMs: number, step = 5): number | null {
    const began = clock.now()
    for (;;) {
      if (condition()) return clock.now() - began
      if (clock.now() - began >= limitMs) return null
      advance(step, step)
    }
  }

  return {
    clock,
    random,
    intervals,
    violations,
    events,
    messageCount: () => messages,
    addMember,
    /** `at` (having synced the whole roster) removes `id` from it: known at once to `at` only. */
    removeMember(id: string, at: string): void {
      events_.push({ kind: 'remove', id })
      views.set(at, events_.length)
    },
    /** `id` learns every roster event (a full roster sync). */
    learnRoster(id: string): void {
      views.set(id, events_.length)
    },
    /** Each node that lacks events syncs with probability `p`, learning one more event or all of them. */
    spreadRoster(p: number): void {
      for (const [id, known] of views) if (known < events_.length && random() < p) views.set(id, random() < 0.5 ? known + 1 : events_.length)
    },
    rosterVoters: rosterVotersOf,
    /** Whether `id` has synced every roster event made so far. */
    rosterSynced: (id: string): boolean => view(id) === events_.length,
    removedIn,
    start: startNode,
    election: (id: string): Election => {
      const e = slot(id).election
      if (e === null) throw new Error(`${id} never started`)
      return e
    },
    store: (id: string) => slot(id).store,
    process: (id: string) => slot(id).process,
    ids: () => [...slots.keys()],
    /** SIGKILL: nothing more runs; its lease interval is taken to last as long as its lease. */
    kill(id: string): void {
      const s = slot(id)
      if (s.process === null || s.process.state() === 'dead') return
      s.process.kill()
      close(s, s.leaseSeen ?? clock.now())
      s.election = null
      events.push(`${clock.now()} ${id} killed`)
    },
    alive: (id: string): boolean => {
      const p = slot(id).process
      return p !== null && p.state() !== 'dead'
    },
    pause: (id: string) => slot(id).process?.pause(),
    resume: (id: string) => slot(id).process?.resume(),
    cut(a: string, b: string): void {
      cuts.add(linkKey(a, b))
    },
    /** Cuts every link between the two sides. */
    partition(side: string[], other: string[] = [...slots.keys()].filter((id) => !side.includes(id))): void {
      for (const a of side) for (const b of other) if (a !== b) cuts.add(linkKey(a, b))
    },
    healAll(): void {
      cuts.clear()
    },
    setDelay(min: number, max: number): void {
      delay = [min, max]
    },
    setDropRate(rate: number): void {
      dropRate = rate
    },
    holders,
    advance,
    until,
    /** Intervals closed so far plus the ones still open (ending at their current lease). */
    allIntervals(): LeaseInterval[] {
      const open = [...slots.values()]
        .filter((s) => s.open !== null && s.process?.state() !== 'dead')
        .map((s) => ({ ...(s.open as Omit<LeaseInterval, 'end'>), end: s.leaseSeen ?? clock.now() }))
      return [...intervals, ...open]
    },
  }
}
