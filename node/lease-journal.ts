/**
 * logs/lease.log: one JSON line per lease event of this node, for the fault suite's checker
 * and for a person reading what happened: acquired (term, at), extended (term, until, at most
 * every `everyMs`), lost (term, at, reason). A node killed while leading leaves its last
 * `until`, which bounds the interval it may have believed it led.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Clock, Mesh, TimerHandle } from '../mesh/index.js'

export function startLeaseJournal(deps: { mesh: Mesh; clock: Clock; path: string }, options: { everyMs?: number } = {}): () => void {
  mkdirSync(dirname(deps.path), { recursive: true, mode: 0o700 })
  const write = (entry: object): void => {
    appendFileSync(deps.path, `${JSON.stringify({ node: deps.mesh.peerId, ...entry })}\n`, { mode: 0o600 })
  }
  let lastUntil = 0
  let timer: TimerHandle | null = null
  const offAcquired = deps.mesh.onLease('lease:acquired', ({ term }) => {
    const until = deps.mesh.leader().leaseExpiresAt ?? deps.clock.now()
    write({ event: 'acquired', term, at: deps.clock.now(), until })
    lastUntil = until
    timer?.cancel()
    timer = deps.clock.setInterval(() => {
      const info = deps.mesh.leader()
      if (info.role !== 'leader' || info.leaseExpiresAt === null) return
      if (info.leaseExpiresAt - lastUntil >= (options.everyMs ?? 200)) {
        write({ event: 'extended', term: info.term, until: info.leaseExpiresAt })
        lastUntil = info.leaseExpiresAt
      }
    }, options.everyMs ?? 200)
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
  }
}
