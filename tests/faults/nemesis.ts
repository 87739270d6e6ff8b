/**
 * The fault suite's checker over every node's logs/lease.log: intervals in which a node
 * believed it held the lease, and the promises they must keep.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { findLeaseViolations, type LeaseInterval } from '../../mesh/index.js'

interface LeaseLine {
  node: string
  event: 'acquired' | 'extended' | 'lost'
  term: number
  at?: number
  until?: number
}

interface Open {
  node: string
  term: number
  start: number
  until: number
}

/**
 * Intervals [acquired, end) per node and term. An interval ends at the earlier of its `lost`
 * line and its last lease `until`: a paused leader writes `lost` late, and a killed one never.
 */
export function leaseIntervals(homes: string[]): LeaseInterval[] {
  const intervals: LeaseInterval[] = []
  for (const home of homes) {
    const text = leaseLog(join(home, 'logs', 'lease.log'))
    let open: Open | null = null
    const close = (o: Open, end: number): void => {
      intervals.push({ node: o.node, term: o.term, start: o.start, end: Math.min(end, o.until) })
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      const entry = JSON.parse(line) as LeaseLine
      if (entry.event === 'acquired') {
        if (open !== null) close(open, open.until)
        open = { node: entry.node, term: entry.term, start: entry.at ?? 0, until: entry.until ?? entry.at ?? 0 }
      } else if (entry.event === 'extended' && open !== null && entry.term === open.term) {
        open.until = Math.max(open.until, entry.until ?? 0)
      } else if (entry.event === 'lost' && open !== null) {
        close(open, entry.at ?? open.until)
        open = null
      }
    }
    if (open !== null) close(open, open.until)
  }
  return intervals
}

/** The journal with its rotated files, oldest first (lease.log.N ... lease.log.1, lease.log). */
function leaseLog(path: string): string {
  const files: string[] = []
  for (let i = 1; existsSync(`${path}.${i}`); i++) files.unshift(`${path}.${i}`)
  if (existsSync(path)) files.push(path)
  return files.map((f) => readFileSync(f, 'utf8')).join('')
}

export function checkLeases(homes: string[], driftMs: number): string[] {
  return findLeaseViolations(leaseIntervals(homes), { allowanceMs: driftMs }).map((v) => `${v.kind}: ${v.detail}`)
}

/** The nemesis's schedule comes from a printed seed. */
export { mulberry32 as seeded } from '../support/seeded-random.js'
