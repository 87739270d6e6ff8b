/**
 * The seeded hostile fuzzer of tests/hostile/fuzz.test.ts: a mesh of victim nodes (real
 * daemons with their HTTP API, see victims.ts), a hostile node that holds a member's keys, a
 * witness's, or a removed machine's (and strangers), and a run of HOSTILE_EVENTS attacks
 * drawn from bench/hostile-*.ts with one seed. After each attack the victim must have logged
 * the codes the attack earns (election refusals, whose log lines are rate-limited, are
 * checked once at the end); now and then, and at the end, the victims must be up and answer
 * their API. At the end: the leader, every code they logged, their documents and their roster.
 *
 * This file holds the run and the checks; the test file builds the meshes.
 */
import { expect } from 'vitest'
import { MAX_TERM } from '../../mesh/index.js'
import type { Attack, LegitWrite, Random } from '../../bench/hostile-wire.js'
import { leaderOf, meshKeysOf, readDocuments, readRoster, type DocData, type LeaderView, type RosterData, type Victim } from './victims.js'
import { waitFor } from './wait-for.js'

/** Codes any node may log in ordinary running while peers come and go, whatever the attack. */
export const BASELINE_CODES = ['SYNC_STREAM_RESET', 'SYNC_OPEN_FAILED', 'SYNC_PEER_BACKED_OFF', 'ROSTER_SYNC_FAILED', 'ROSTER_PUSH_FAILED', 'MESH_STREAM_REFUSED']

export interface FuzzRun {
  seed: number
  replay: string
  random: Random
  victims: Victim[]
  /** Codes logged by a victim that some attack allows. */
  allowed: Set<string>
  /** Per victim, codes it must have logged at least once by the end. */
  mustByEnd: Map<Victim, Set<string>>
  legit: LegitWrite[]
  keptEvents: Set<string>
  /** Attacks sent, as "protocol/kind -> victim", for the replay message. */
  history: string[]
}

export function createRun(seed: number, random: Random, victims: Victim[]): FuzzRun {
  return {
    seed,
    replay: `seed ${seed} (replay with HOSTILE_SEED=${seed})`,
    random,
    victims,
    allowed: new Set(BASELINE_CODES),
    mustByEnd: new Map(victims.map((v) => [v, new Set<string>()])),
    legit: [],
    keptEvents: new Set(),
    history: [],
  }
}

/** Takes note of what an attack allows, before it is sent. */
export function expectAttack(run: FuzzRun, victim: Victim, attack: Attack): void {
  for (const code of [...attack.must, ...attack.may, ...(attack.orElse ?? [])]) run.allowed.add(code)
  run.legit.push(...(attack.legit ?? []))
  for (const id of attack.keptEvents ?? []) run.keptEvents.add(id)
  run.history.push(`${attack.protocol}/${attack.kind} -> ${victim.name}`)
}

const codesSince = (victim: Victim, mark: number): unknown[] => victim.lines().slice(mark).map((l) => l.code)

/**
 * Waits until `victim` has logged, since line `mark`, every code of `must` (or one of
 * `orElse` in its place), or until `excused` says the victim had reason to read nothing.
 */
export async function expectLogged(run: FuzzRun, victim: Victim, mark: number, attack: Attack, excused: () => Promise<boolean> = async () => false): Promise<void> {
  if (attack.must.length === 0) return
  const orElse = attack.orElse ?? []
  const logged = (): string => ` (it logged ${JSON.stringify(victim.lines().slice(mark).map((l) => ({ code: l.code, reason: l.fields.reason, err: l.fields.err instanceof Error ? l.fields.err.message : l.fields.err })))})`
  await waitFor(
    async () => {
      const codes = codesSince(victim, mark)
      if (attack.must.every((code) => codes.includes(code) || orElse.some((c) => codes.includes(c)))) return true
      return excused()
    },
    { timeoutMs: 20_000, what: `${victim.name} to log ${attack.must.join(' and ')} for ${attack.protocol}/${attack.kind} (${run.replay}; attacks so far: ${run.history.slice(-5).join(', ')})` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}${logged()}`, { cause: err })
  })
}

/** The victims are running and answer their API. */
export async function expectUp(run: FuzzRun): Promise<void> {
  for (const victim of run.victims) {
    expect(victim.alive(), `${victim.name} is running (${run.replay})`).toBe(true)
    const node = await victim.api.get<{ running: boolean; peerId: string }>('/node')
    expect(node, run.replay).toMatchObject({ running: true, peerId: victim.peerId })
  }
}

/** What the victims hold before the attack: documents and roster, as stored. */
export interface Holdings {
  docs: Map<Victim, Record<string, DocData>>
  roster: Map<Victim, RosterData>
}

export function holdings(victims: Victim[], candidates: string[]): Holdings {
  const docs = new Map<Victim, Record<string, DocData>>()
  const roster = new Map<Victim, RosterData>()
  for (const victim of victims) {
    const { meshId, keys, agentPublicKey } = meshKeysOf(victim.home)
    const read = readDocuments(victim.home, meshId, keys)
    expect(read.refusedRows, `${victim.name} holds rows it cannot open`).toBe(0)
    docs.set(victim, read.docs)
    roster.set(victim, readRoster(victim.home, agentPublicKey, candidates))
  }
  return { docs, roster }
}

/**
 * The victims' documents hold what they held before and, besides, only legitimate writes of
 * the hostile member; their roster is the same (events that count for nothing aside, and the
 * address records of participants).
 */
export function expectHoldingsKept(run: FuzzRun, before: Holdings, participants: string[], candidates: string[]): void {
  const after = holdings(run.victims, candidates)
  for (const victim of run.victims) {
    const was = before.docs.get(victim) ?? {}
    const now = after.docs.get(victim) ?? {}
    const problems: string[] = []
    for (const [doc, roots] of Object.entries(now)) {
      for (const [root, data] of Object.entries(roots)) {
        const old = was[doc]?.[root]
        if (data.sequence !== (old?.sequence ?? 0)) problems.push(`${doc}.${root} holds a sequence of ${data.sequence} items (was ${old?.sequence ?? 0})`)
        for (const [key, value] of Object.entries(data.map)) {
          const before = old?.map[key]
          if (JSON.stringify(value) === JSON.stringify(before)) continue
          const legit = run.legit.some((w) => w.doc === doc && w.root === root && w.key === key && JSON.stringify(w.value) === JSON.stringify(value))
          if (!legit) problems.push(`${doc}.${root}[${key.slice(0, 80)}] ${before === undefined ? 'appeared' : 'changed'}`)
        }
      }
    }
    for (const [doc, roots] of Object.entries(was)) {
      for (const [root, data] of Object.entries(roots)) for (const key of Object.keys(data.map)) if (now[doc]?.[root]?.map[key] === undefined) problems.push(`${doc}.${root}[${key}] was lost`)
    }
    expect(problems, `${victim.name}'s documents (${run.replay})`).toEqual([])

    const r0 = before.roster.get(victim) as RosterData
    const r1 = after.roster.get(victim) as RosterData
    const view = (r: RosterData) => ({ members: r.members, witnesses: r.witnesses, removed: r.removed, latestEpoch: r.latestEpoch, genesis: r.genesis, keyEpochs: r.keyEpochs })
    expect(view(r1), `${victim.name}'s roster (${run.replay})`).toEqual(view(r0))
    const known = new Set([...[...before.roster.values()].flatMap((r) => r.events), ...run.keptEvents])
    expect(r1.events.filter((id) => !known.has(id)), `${victim.name}'s roster events (${run.replay})`).toEqual([])
    // A record kept from before (a removed machine's, say) stays; a new one only of a participant.
    expect(r1.addressKeys.filter((peerId) => !participants.includes(peerId) && !r0.addressKeys.includes(peerId)), `${victim.name}'s address records (${run.replay})`).toEqual([])
  }
}

/** Every warn and error line a victim logged has a code, and every code is one an attack (or ordinary running) allows; every code it had to log, it logged. */
export function expectCodes(run: FuzzRun): void {
  for (const victim of run.victims) {
    const lines = victim.lines()
    const uncoded = lines.filter((l) => typeof l.code !== 'string' || l.code === '')
    expect(uncoded.map((l) => ({ level: l.level, ...l.fields })), `${victim.name}'s lines without a code (${run.replay})`).toEqual([])
    const unexpected = [...new Set(lines.map((l) => String(l.code)).filter((c) => !run.allowed.has(c)))]
    const examples = unexpected.map((code) => lines.find((l) => l.code === code)?.fields)
    expect({ unexpected, examples }, `${victim.name} logged codes no attack explains (${run.replay})`).toEqual({ unexpected: [], examples: [] })
    const codes = new Set(lines.map((l) => l.code))
    const missing = [...(run.mustByEnd.get(victim) ?? [])].filter((c) => !codes.has(c))
    expect(missing, `${victim.name} never logged (${run.replay})`).toEqual([])
  }
}

/** Every victim follows one honest leader that holds a lease and can still stand again (its term below MAX_TERM). */
export async function honestLeader(run: FuzzRun, honest: string[], timeoutMs = 30_000): Promise<LeaderView> {
  let last: LeaderView[] = []
  try {
    return await waitFor(
      async () => {
        const views = await Promise.all(run.victims.map((v) => leaderOf(v)))
        last = views
        const first = views[0]
        if (first === undefined || first.leader === null || !honest.includes(first.leader)) return null
        if (!views.every((v) => v.leader === first.leader)) return null
        const own = views.find((v) => v.self === first.leader)
        return own?.role === 'leader' && own.leaseExpiresAt !== null && own.term < MAX_TERM ? own : null
      },
      { timeoutMs, what: `one honest leader with a lease that every victim follows (${run.replay})` },
    )
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: err })
  }
}

/** One line of what a run did: attacks by kind, codes logged by each victim. */
export function summary(run: FuzzRun): string {
  const count = (values: string[]): string => {
    const counts = new Map<string, number>()
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
    return [...counts].sort().map(([k, n]) => `${k}:${n}`).join(' ')
  }
  const attacks = count(run.history.map((h) => h.split(' ->')[0] ?? h))
  const logged = run.victims.map((v) => `${v.name}{${count(v.lines().map((l) => String(l.code)))}}`).join(' ')
  return `${run.replay}: attacks ${attacks}; logged ${logged}`
}

/** Where each victim's log stood when the run began. */
export const logMarks = (run: FuzzRun): Map<Victim, number> => new Map(run.victims.map((v) => [v, v.allLines().length]))

/**
 * The leader kept its lease against the attack: no victim stepped down because of a term it
 * took from a peer ('higher term') or another leader of its term ('superseded'), and `leader`
 * leads at the end with a lease. A lease that lapsed because the machine was starved
 * ('lease expired', 'no quorum') is not the attack's doing in a test that shares the machine
 * with others: the leader must simply get it back (its priority is the highest). Whether the
 * attack starves it is measured in `npm run bench -- hostile`.
 */
export async function expectLeaseKept(run: FuzzRun, leader: Victim, marks: Map<Victim, number>): Promise<void> {
  const deposed = run.victims.flatMap((v) =>
    v
      .allLines()
      .slice(marks.get(v) ?? 0)
      .filter((l) => l.code === undefined && (l.fields.reason === 'higher term' || l.fields.reason === 'superseded'))
      .map((l) => `${v.name}: ${JSON.stringify(l.fields)}`),
  )
  expect(deposed, `steps down under attack (${run.replay}; attacks so far: ${run.history.slice(-6).join(', ')})`).toEqual([])
  await honestLeader(run, [leader.peerId])
}
