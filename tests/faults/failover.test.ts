/**
 * Fault suite: real node processes, a nemesis on a seeded schedule that kills (SIGKILL) and
 * restarts nodes, pauses (SIGSTOP) and resumes (SIGCONT) them, and partitions a minority
 * from the rest (the nodes' fault hook drops traffic between chosen pairs); after each event a
 * leader must exist within the failover bound, terms only grow, and no two nodes' lease
 * intervals overlap (beyond the clock-drift bound). A failing run prints its seed;
 * FAULTS_SEED reproduces it. `npm test` runs a short schedule on 3 nodes and on two
 * machines with a witness ("2+w"); `npm run test:faults` runs longer ones on 3, 5 and 2+w
 * (FAULTS_EVENTS, FAULTS_NODES). The witness is killed, paused and cut off like any node.
 *
 * Membership changes are events too with FAULTS_MEMBERSHIP=1 (not yet by default): a new machine
 * paired through a running member, or a machine the schedule paired removed again through
 * another member (`POST /mesh/remove`), so the voters change under the same checker. A removed
 * machine keeps running, cut off by the others' gater, and its lease.log stays in the check.
 * Removals are of machines the schedule added, one at a time, so a majority of every voter
 * configuration stays in the mesh (removing voters faster than their change settles leaves no
 * quorum, in any consensus).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ELECTION_DEFAULTS } from '../../mesh/index.js'
import { cleanupNodeOnFinish, runInstar } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'
import { checkLeases, seeded } from './nemesis.js'

const EVENTS = Number(process.env.FAULTS_EVENTS ?? 4)
/** "3" is three machines (quorum mode); "2+w" two machines and a witness (witness mode). */
const SHAPES = (process.env.FAULTS_NODES ?? '3,2+w').split(',').map((shape) => {
  const match = /^(\d+)(\+w)?$/.exec(shape.trim())
  if (match === null) throw new Error(`FAULTS_NODES: "${shape}" is neither a count (3) nor two machines and a witness (2+w)`)
  return { machines: Number(match[1]), witness: match[2] !== undefined, label: shape.trim() }
})
const FAILOVER_BOUND_MS = 15_000
/** Off by default: with 2 machines and a witness, FAULTS_SEED=1713200549 finds no leader after a pairing (not yet explained). */
const MEMBERSHIP = process.env.FAULTS_MEMBERSHIP === '1'
/** The election's bound on clock drift: lease intervals may overlap by no more. */
const DRIFT_MS = ELECTION_DEFAULTS.maxClockDriftMs

interface Proc {
  home: string
  pid: number
  api: string
  token: string
  peerId: string
  state: 'running' | 'killed' | 'paused' | 'partitioned' | 'removed'
  /** Paired by the schedule, so the schedule may remove it. */
  added?: boolean
}

async function start(p: Pick<Proc, 'home'>): Promise<{ pid: number; api: string; peerId: string }> {
  const r = await runInstar(['node', 'start', '--home', p.home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'], {
    env: { INSTAR_FAULT_HOOKS: '1' },
  })
  if (r.code !== 0) throw new Error(`start failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { pid: number; api: string; peerId: string }
}

async function call<T>(p: Proc, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${p.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${p.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(3000),
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

interface LeaderView {
  leader: string | null
  term: number
  self: string
  role: string
}

async function agreedLeader(procs: Proc[]): Promise<LeaderView | null> {
  const live = procs.filter((p) => p.state === 'running')
  const views = await Promise.all(live.map((p) => call<LeaderView>(p, 'GET', '/mesh/leader').catch(() => null)))
  if (views.some((v) => v === null)) return null
  const first = views[0]
  if (first === null || first === undefined || first.leader === null) return null
  const leader = first.leader
  if (!views.every((v) => v?.leader === leader)) return null
  const leaderView = views.find((v) => v?.self === leader)
  return leaderView?.role === 'leader' ? leaderView : null
}

async function runSchedule(shape: { machines: number; witness: boolean }, seed: number): Promise<void> {
  const random = seeded(seed)
  const procs: Proc[] = []
  const size = shape.machines + (shape.witness ? 1 : 0)
  for (let i = 0; i < size; i++) {
    const witness = i === shape.machines
    const home = join(tempDir(), witness ? 'witness' : `n${i}`)
    cleanupNodeOnFinish(home)
    let started: { pid: number; api: string; peerId: string }
    if (witness) {
      // The witness lays out its own home on first start; later starts (after a kill) are the same daemon.
      const r = await runInstar(['relay', 'start', '--witness', '--home', home, '--name', 'witness', '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'], {
        env: { INSTAR_FAULT_HOOKS: '1' },
      })
      expect(r.code, r.stderr).toBe(0)
      started = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as typeof started
    } else {
      const init = await runInstar(['init', '--home', home, '--name', `n${i}`, ...(i === 0 ? ['--agent', 'kira'] : [])])
      expect(init.code, init.stderr).toBe(0)
      started = await start({ home })
    }
    const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
    procs.push({ home, token, ...started, state: 'running' })
  }
  const founder = procs[0] as Proc
  for (const [i, p] of procs.slice(1).entries()) {
    const witness = i + 1 === shape.machines
    const { invitation } = await call<{ invitation: string }>(founder, 'POST', '/mesh/invitations', witness ? { witness: true } : {})
    await call(p, 'POST', '/mesh/join', { invitation })
  }
  const terms = new Map<string, number>()
  const observeTerms = async (): Promise<void> => {
    for (const p of procs.filter((q) => q.state === 'running')) {
      const view = await call<LeaderView>(p, 'GET', '/mesh/leader').catch(() => null)
      if (view === null) continue
      expect(view.term, `term went backwards on ${p.home} (seed ${seed})`).toBeGreaterThanOrEqual(terms.get(p.home) ?? 0)
      terms.set(p.home, view.term)
    }
  }
  await waitFor(() => agreedLeader(procs), { timeoutMs: 30_000, what: `a first leader (seed ${seed})` })

  const maxDown = Math.floor((size - 1) / 2)
  let paired = 0
  for (let e = 0; e < EVENTS; e++) {
    const down = procs.filter((p) => p.state !== 'running' && p.state !== 'removed')
    const roll = random()
    const partitioned = procs.filter((p) => p.state === 'partitioned')
    const added = procs.filter((p) => p.added === true && p.state === 'running')
    if (MEMBERSHIP && partitioned.length === 0 && down.length === 0 && roll > 0.8) {
      const members = procs.filter((p) => p.state === 'running' && p.added !== true && p.home !== procs[shape.machines]?.home)
      const via = members[Math.floor(random() * members.length)] ?? founder
      if (added.length > 0 && random() < 0.5) {
        // Remove a machine the schedule paired, through another member; it runs on, cut off.
        const victim = added[0] as Proc
        await call(via, 'POST', '/mesh/remove', { member: victim.peerId })
        victim.state = 'removed'
      } else if (added.length < 2) {
        const home = join(tempDir(), `p${paired}`)
        cleanupNodeOnFinish(home)
        const init = await runInstar(['init', '--home', home, '--name', `p${paired++}`])
        expect(init.code, init.stderr).toBe(0)
        const started = await start({ home })
        const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
        const joiner: Proc = { home, token, ...started, state: 'running', added: true }
        const { invitation } = await call<{ invitation: string }>(via, 'POST', '/mesh/invitations', {})
        await call(joiner, 'POST', '/mesh/join', { invitation })
        procs.push(joiner)
      }
    } else if (partitioned.length > 0) {
      // Heal the split first: every node forgets its block list.
      for (const p of procs.filter((q) => q.state === 'running' || q.state === 'partitioned')) {
        await call(p, 'POST', '/debug/partition', { block: [] })
        p.state = 'running'
      }
    } else if (down.length === 0 && roll < 0.25) {
      // Partition a minority off: both sides drop all traffic with the other.
      const shuffled = [...procs].sort(() => random() - 0.5)
      const minority = shuffled.slice(0, 1 + Math.floor(random() * maxDown))
      const majority = procs.filter((p) => !minority.includes(p))
      for (const p of minority) await call(p, 'POST', '/debug/partition', { block: majority.map((q) => q.peerId) })
      for (const p of majority) await call(p, 'POST', '/debug/partition', { block: minority.map((q) => q.peerId) })
      for (const p of minority) p.state = 'partitioned'
    } else if (down.length < maxDown && roll < 0.75) {
      // Fault: prefer the leader half the time.
      const leader = await agreedLeader(procs)
      const running = procs.filter((p) => p.state === 'running')
      const victim = (random() < 0.5 && leader !== null ? running.find((p) => p.peerId === leader.leader) : undefined) ?? running[Math.floor(random() * running.length)]
      if (victim === undefined) continue
      if (random() < 0.5) {
        process.kill(victim.pid, 'SIGKILL')
        victim.state = 'killed'
      } else {
        process.kill(victim.pid, 'SIGSTOP')
        victim.state = 'paused'
      }
    } else {
      // Heal one.
      const target = down[Math.floor(random() * down.length)]
      if (target !== undefined) {
        if (target.state === 'paused') process.kill(target.pid, 'SIGCONT')
        else Object.assign(target, await start(target))
        target.state = 'running'
      }
    }
    // With a majority running, a leader must exist within the bound.
    await waitFor(() => agreedLeader(procs), { timeoutMs: FAILOVER_BOUND_MS, what: `a leader after event ${e} (seed ${seed})` })
    await observeTerms()
  }
  for (const p of procs) {
    if (p.state === 'paused') process.kill(p.pid, 'SIGCONT')
    if (p.state === 'partitioned') await call(p, 'POST', '/debug/partition', { block: [] })
    if (p.state !== 'killed') await runInstar(['node', 'stop', '--home', p.home])
  }
  const violations = checkLeases(procs.map((p) => p.home), DRIFT_MS)
  expect(violations, `lease violations (seed ${seed})`).toEqual([])
}

describe('fault suite', () => {
  for (const shape of SHAPES) {
    const what = shape.witness ? `${shape.machines} machines and a witness` : `${shape.machines} node processes`
    it(`keeps one leader at a time through kills, pauses and partitions of ${what}`, { timeout: 600_000 }, async () => {
      const seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31))
      try {
        await runSchedule(shape, seed)
      } catch (err) {
        process.stderr.write(`fault suite failed with seed ${seed} (FAULTS_SEED=${seed} reproduces it)\n`)
        throw err
      }
    })
  }
})
