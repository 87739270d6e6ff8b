/**
 * logs/lease.log: one JSON line per lease transition of this node, for a person reading what
 * happened and for the fault suite's checker: acquired (term, at, until) and lost (term, at,
 * reason: 'lease expired', 'handoff', 'handback', 'higher term', 'stopped', ...). The file
 * rotates by size (log-files.ts).
 *
 * With `renewals` (the fault hooks turn it on), every renewal that moves the lease's end by
 * `everyMs` or more is logged too (extended: term, until): a node killed while leading leaves
 * its last `until`, which bounds the interval it may have believed it led; the checker needs
 * that bound, a person does not (it is a line every 200 ms on the leader).
 */
import type { Mesh } from '../mesh/index.js'
import type { Clock, TimerHandle } from '../runtime/index.js'
import { openRotatingLog, type RotatingLogOptions } from './log-files.js'

export interface LeaseJournalOptions extends RotatingLogOptions {
  /** Log renewals too (for the fault suite's checker); default false. */
  renewals?: boolean
  /** With `renewals`, the least move of the lease's end worth a line; default 200 ms. */
  everyMs?: number
}

export function startLeaseJournal(deps: { mesh: Mesh; clock: Clock; path: string }, options: LeaseJournalOptions = {}): () => void {
  const log = openRotatingLog(deps.path, options)
  const write = (entry: object): void => log.write(JSON.stringify({ node: deps.mesh.peerId, ...entry }))
  const everyMs = options.everyMs ?? 200
  let lastUntil = 0
  let timer: TimerHandle | null = null
  const offAcquired = deps.mesh.onLease('lease:acquired', ({ term }) => {
    const until = deps.mesh.leader().leaseExpiresAt ?? deps.clock.now()
    write({ event: 'acquired', term, at: deps.clock.now(), until })
    lastUntil = until
    timer?.cancel()
    timer = null
    if (options.renewals !== true) return
    timer = deps.clock.setInterval(() => {
      const info = deps.mesh.leader()
      if (info.role !== 'leader' || info.leaseExpiresAt === null) return
      if (info.leaseExpiresAt - lastUntil >= everyMs) {
        write({ event: 'extended', term: info.term, until: info.leaseExpiresAt })
        lastUntil = info.leaseExpiresAt
      }
    }, everyMs)
  })
  const offLost = deps.mesh.onLease('lease:lost', ({ term, reason }) => {
    timer?.cancel()
    timer = null
    write({ event: 'lost', term, at: deps.clock.now(), reason })
  })
  return () => {
    timer?.cancel()
    offAcquired()
    offLost()
    log.close()
  }
}
