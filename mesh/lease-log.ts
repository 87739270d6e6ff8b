/**
 * Lease intervals and the checker the election simulations and fault suites share. Each node
 * logs every interval in which it held the lease: [start, end) in its own clock, where end is
 * the earlier of when it stepped down and when its lease ran out (a paused process learns of
 * its loss late, but never acts past its lease: fence() refuses).
 */

export interface LeaseInterval {
  node: string
  term: number
  start: number
  end: number
}

export interface LeaseViolation {
  kind: 'overlap' | 'term-shared' | 'term-regressed'
  detail: string
}

/**
 * Every way a set of lease intervals breaks the election's promises: intervals of two nodes
 * that overlap by more than `allowanceMs` (the clock-drift bound), one term held by two nodes,
 * or a node whose successive leases do not have strictly growing terms.
 */
export function findLeaseViolations(intervals: LeaseInterval[], options: { allowanceMs?: number } = {}): LeaseViolation[] {
  const allowance = options.allowanceMs ?? 0
  const violations: LeaseViolation[] = []
  const show = (i: LeaseInterval): string => `${i.node} term ${i.term} [${i.start}, ${i.end})`
  const sorted = [...intervals].filter((i) => i.end > i.start).sort((a, b) => a.start - b.start || a.end - b.end)
  // Sweep by start: any earlier interval still open past this start (beyond the allowance) overlaps.
  const open: LeaseInterval[] = []
  for (const next of sorted) {
    for (let k = open.length - 1; k >= 0; k--) {
      const earlier = open[k]
      if (earlier === undefined) continue
      if (earlier.end - allowance <= next.start) open.splice(k, 1)
      else if (earlier.node !== next.node) {
        violations.push({ kind: 'overlap', detail: `${show(earlier)} overlaps ${show(next)}` })
      }
    }
    open.push(next)
  }
  const holderOfTerm = new Map<number, LeaseInterval>()
  const lastOfNode = new Map<string, LeaseInterval>()
  for (const i of [...intervals].sort((a, b) => a.start - b.start)) {
    const holder = holderOfTerm.get(i.term)
    if (holder !== undefined && holder.node !== i.node) {
      violations.push({ kind: 'term-shared', detail: `${show(holder)} and ${show(i)} share a term` })
    }
    holderOfTerm.set(i.term, i)
    const last = lastOfNode.get(i.node)
    if (last !== undefined && i.term <= last.term) {
      violations.push({ kind: 'term-regressed', detail: `${show(last)} is followed by ${show(i)}` })
    }
    lastOfNode.set(i.node, i)
  }
  return violations
}
