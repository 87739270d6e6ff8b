/**
 * Our document updates on their way to the peers, coalesced: the updates of one document from
 * one origin within a tick are merged and sealed once, so a thousand quick writes cost each
 * peer one open, one apply, one commit. A batch goes at once when it reaches MAX_BATCH_BYTES,
 * so each stays small to merge and to open.
 */
import * as Y from 'yjs'
import type { Clock, TimerHandle } from '../runtime/index.js'
import type { DocumentUpdate } from './documents.js'
import type { DocName } from './sealed-update.js'

const MAX_BATCH_BYTES = 1024 * 1024
const MERGE_FAN_IN = 32

export interface Batch {
  doc: DocName
  from: string | null
  /** The batch's updates merged into one (computed on call: a batch no peer needs is never merged). */
  merged(): Uint8Array
  /** Per client, the clock just past its last struct in the batch. */
  reaches: Map<number, number>
  deletes: boolean
}

export interface SyncOutbox {
  add(u: DocumentUpdate): void
  /** Drops what is queued and the pending tick. */
  clear(): void
}

interface Pending {
  doc: DocName
  from: string | null
  updates: Uint8Array[]
  bytes: number
  reaches: Map<number, number>
  deletes: boolean
}

export function createSyncOutbox(deps: { clock: Clock; send(batch: Batch): void }): SyncOutbox {
  const pending = new Map<string, Pending>()
  let timer: TimerHandle | null = null
  const send = (p: Pending): void => deps.send({ doc: p.doc, from: p.from, merged: () => mergeInRounds(p.updates), reaches: p.reaches, deletes: p.deletes })
  const flush = (): void => {
    timer = null
    const batches = [...pending.values()]
    pending.clear()
    for (const batch of batches) send(batch)
  }
  return {
    add({ doc, update, from, reaches, deletes }) {
      const key = `${doc}|${from ?? ''}`
      const queued = pending.get(key)
      if (queued === undefined) pending.set(key, { doc, from, updates: [update], bytes: update.length, reaches: new Map(reaches), deletes })
      else {
        queued.updates.push(update)
        queued.bytes += update.length
        raise(queued.reaches, reaches)
        queued.deletes ||= deletes
        if (queued.bytes >= MAX_BATCH_BYTES) {
          pending.delete(key)
          send(queued)
        }
      }
      timer ??= deps.clock.setTimeout(flush, 0)
    },
    clear() {
      timer?.cancel()
      timer = null
      pending.clear()
    },
  }
}

/** Raises state vector `to` to at least `reaches`. */
function raise(to: Map<number, number>, reaches: Map<number, number>): void {
  for (const [client, clock] of reaches) if ((to.get(client) ?? 0) < clock) to.set(client, clock)
}

/**
 * Y.mergeUpdates of many updates, merged MERGE_FAN_IN at a time and then the results: Yjs
 * re-sorts its list of update readers at every gap between clock runs, so one call over the
 * ten thousand single-entry updates of a burst was quadratic and took seconds.
 */
function mergeInRounds(updates: Uint8Array[]): Uint8Array {
  let round = updates
  while (round.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < round.length; i += MERGE_FAN_IN) {
      const group = round.slice(i, i + MERGE_FAN_IN)
      next.push(group.length === 1 ? (group[0] as Uint8Array) : Y.mergeUpdates(group))
    }
    round = next
  }
  return round[0] as Uint8Array
}
