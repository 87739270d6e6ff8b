/**
 * A seeded randomized simulation of the election: 300 random faults (kill and restart, pause
 * and resume, partitions and cut links, delay spikes, lossy links, graceful hand-offs) over
 * simulated time. The checker asserts that no two nodes' lease intervals overlap, that terms
 * only grow on each node, and that after each heal a lease holder exists within the failover
 * bound (max timeout x 2 + 1 s). A failure prints its seed; ELECTION_SIM_SEED=<seed>
 * reproduces it; ELECTION_SIM_RUNS=<n> soaks n seeds from there.
 */
import { describe, expect, it } from 'vitest'
import { findLeaseViolations } from '../../mesh/lease-log.js'
import { createCluster, seededRandom, type Cluster, type SimMember } from '../support/sim-network.js'

const EVENTS = 300
const MAX_TIMEOUT = 2000
const FAILOVER_BOUND = MAX_TIMEOUT * 2 + 1000
const envSeed = process.env.ELECTION_SIM_SEED
const baseSeed = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31)
/** ELECTION_SIM_RUNS=n runs n consecutive seeds per configuration (a soak; default 1). */
const RUNS = Number(process.env.ELECTION_SIM_RUNS ?? 1)

type Fault = (c: Cluster, pick: <T>(items: T[]) => T | undefined, r: () => number) => string | null

const faults: Array<[weight: number, fault: Fault]> = [
  [4, (c, pick) => {
    const victim = pick(c.holders()) ?? pick(c.ids().filter((id) => c.alive(id)))
    if (victim === undefined) return null
    c.kill(victim)
    return `kill ${victim}`
  }],
  [3, (c, pick) => {
    const dead = pick(c.ids().filter((id) => !c.alive(id)))
    if (dead === undefined) return null
    c.start(dead)
    return `restart ${dead}`
  }],
  [3, (c, _pick, r) => {
    const side = c.ids().filter(() => r() < 0.5)
    c.partition(side)
    return `partition ${side.join(',')} | rest`
  }],
  [2, (c, pick) => {
    const a = pick(c.ids())
    const b = pick(c.ids().filter((id) => id !== a))
    if (a === undefined || b === undefined) return null
    c.cut(a, b)
    return `cut ${a}-${b}`
  }],
  [2, (c, _pick, r) => {
    const max = 100 + Math.floor(r() * 1400)
    c.setDelay(1, max)
    return `delay spike up to ${max} ms`
  }],
  [1, (c, _pick, r) => {
    const rate = Math.round(r() * 30) / 100
    c.setDropRate(rate)
    return `drop ${rate}`
  }],
  [2, (c, pick) => {
    const id = pick(c.holders()) ?? pick(c.ids().filter((x) => c.process(x)?.state() === 'running'))
    if (id === undefined || !c.alive(id)) return null
    c.pause(id)
    return `pause ${id}`
  }],
  [2, (c, pick) => {
    const id = pick(c.ids().filter((x) => c.process(x)?.state() === 'paused'))
    if (id === undefined) return null
    c.resume(id)
    return `resume ${id}`
  }],
  [1, (c, pick) => {
    const id = pick(c.holders())
    if (id === undefined) return null
    void c.election(id).handOff()
    return `hand off from ${id}`
  }],
]

/** Everything back to normal: links, delays, losses, paused and dead processes. */
function heal(c: Cluster): void {
  c.healAll()
  c.setDelay(1, 10)
  c.setDropRate(0)
  for (const id of c.ids()) {
    if (!c.alive(id)) c.start(id)
    else if (c.process(id)?.state() === 'paused') c.resume(id)
  }
}

function simulate(members: SimMember[], seed: number): { failures: string[]; log: string[]; heals: number } {
  const c = createCluster({ members, seed })
  const r = seededRandom(seed ^ 0x5eed)
  const pick = <T,>(items: T[]): T | undefined => items[Math.floor(r() * items.length)]
  const total = faults.reduce((sum, [w]) => sum + w, 0)
  const failures: string[] = []
  const log: string[] = []
  let heals = 0
  for (const id of c.ids()) c.start(id)
  for (let k = 0; k < EVENTS && failures.length === 0; k++) {
    c.advance(Math.floor(r() * 1500))
    if (r() < 0.15) {
      heal(c)
      heals++
      log.push(`${c.clock.now()} heal`)
      if (c.until(() => c.holders().length === 1, FAILOVER_BOUND) === null) {
        failures.push(`no leader within ${FAILOVER_BOUND} ms of the heal at event ${k}`)
      }
      continue
    }
    let pickAt = r() * total
    const fault = faults.find(([w]) => (pickAt -= w) < 0)?.[1] ?? faults[0]![1]
    const what = fault(c, pick, r)
    if (what !== null) log.push(`${c.clock.now()} ${what}`)
  }
  heal(c)
  if (c.until(() => c.holders().length === 1, FAILOVER_BOUND) === null) failures.push('no leader after the final heal')
  c.advance(5000)
  failures.push(...c.violations, ...findLeaseViolations(c.allIntervals()).map((v) => `${v.kind}: ${v.detail}`))
  return { failures, log: [...log, ...c.events].sort((a, b) => Number.parseInt(a) - Number.parseInt(b)), heals }
}

const machines = (n: number, priorities = false): SimMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `n${i}`, priority: priorities ? i % 3 : 0 }))

describe('election under random faults', () => {
  it.each([
    ['3 nodes', machines(3), 0],
    ['5 nodes with priorities', machines(5, true), 1],
    ['2 machines and a witness', [...machines(2), { id: 'w', canLead: false }], 2],
  ])('keeps leases exclusive and recovers after every heal (%s)', (_name, members, offset) => {
    for (let run = 0; run < RUNS; run++) {
      const seed = (baseSeed + run * 3 + offset) >>> 0
      const { failures, log, heals } = simulate(members, seed)
      if (failures.length > 0) {
        console.error(`election sim failed; reproduce with ELECTION_SIM_SEED=${baseSeed + run * 3}\n${log.slice(-60).join('\n')}`)
      }
      expect(failures, `seed ${seed} (ELECTION_SIM_SEED=${baseSeed + run * 3})`).toEqual([])
      expect(heals).toBeGreaterThan(10)
    }
  })
})
