/**
 * What the sync engine knows of how its sync with each peer goes, kept across reconnects:
 * refusals by code, streams that ended under us, and the latest failure of each document in
 * each direction, so `mesh status` can say which peer fails and why, not only "behind".
 *
 * A document's failure lasts until the next success in the same direction: for what the peer
 * sends us ('in'), the next step 2 or update of that document we apply from it; for what we
 * send ('out'), its next DONE or ACK for that document. A stream failure lasts until both
 * streams are up again.
 */
import { DOC_NAMES, type DocName } from './sealed-update.js'
import type { Backoff } from './sync-backoff.js'

export interface SyncFailure {
  /** The error code (SYNC_UPDATE_REJECTED, SYNC_STREAM_RESET, ...). */
  code: string
  /** A short reason: the error's reason, or what ended the stream. */
  reason: string
  /** When it happened (ms since the epoch, from the engine's clock). */
  at: number
}

export interface DocSyncState {
  /** The peer applied our step 2 for this document. */
  inSync: boolean
  /** Our updates sent to the peer that it has not acknowledged yet. */
  behind: number
  /** The latest failure of this document with this peer, either way, until a later success. */
  failure: SyncFailure | null
}

export interface PeerSyncState {
  /**
   * 'in-sync': every document in sync, nothing unacknowledged. 'syncing': on its way.
   * 'failing': a document or a stream fails (see reason). 'backoff': the peer's updates were
   * refused too often and its sync is off until backoff.until.
   */
  state: 'in-sync' | 'syncing' | 'failing' | 'backoff'
  /** Why it fails or is backed off; null otherwise. */
  reason: string | null
  docs: Record<DocName, DocSyncState>
  /** Whether our stream to the peer and its stream to us are up. */
  streams: { outbound: boolean; inbound: boolean }
  /** This peer's frames and updates refused since the engine started, by code. */
  refused: Record<string, number>
  /** This peer's sync streams that ended under us (reset, failed, or never opened). */
  resets: number
  /** Refusals counted toward a backoff within its window. */
  recentRefusals: number
  lastFailure: SyncFailure | null
  backoff: Backoff | null
}

export interface SyncHealth {
  refused(peerId: string, code: string): void
  docFailed(peerId: string, doc: DocName, direction: 'in' | 'out', failure: SyncFailure): void
  docOk(peerId: string, doc: DocName, direction: 'in' | 'out'): void
  streamReset(peerId: string, failure: SyncFailure): void
  /** Both streams with the peer are up. */
  linkUp(peerId: string): void
  state(
    peerId: string,
    now: { docs: Array<{ doc: DocName; inSync: boolean; behind: number }>; streams: { outbound: boolean; inbound: boolean }; backoff: Backoff | null; recentRefusals: number },
  ): PeerSyncState
  /** Refusals from every peer, by code. */
  totals(): Record<string, number>
}

interface PeerRecord {
  refused: Record<string, number>
  resets: number
  lastFailure: SyncFailure | null
  link: SyncFailure | null
  docs: Map<DocName, SyncFailure & { direction: 'in' | 'out' }>
}

export function createSyncHealth(): SyncHealth {
  const peers = new Map<string, PeerRecord>()
  const totals: Record<string, number> = {}
  const record = (peerId: string): PeerRecord => {
    let r = peers.get(peerId)
    if (r === undefined) {
      r = { refused: {}, resets: 0, lastFailure: null, link: null, docs: new Map() }
      peers.set(peerId, r)
    }
    return r
  }
  return {
    refused(peerId, code) {
      const r = record(peerId)
      r.refused[code] = (r.refused[code] ?? 0) + 1
      totals[code] = (totals[code] ?? 0) + 1
    },
    docFailed(peerId, doc, direction, failure) {
      const r = record(peerId)
      r.docs.set(doc, { ...failure, direction })
      r.lastFailure = failure
    },
    docOk(peerId, doc, direction) {
      const r = peers.get(peerId)
      if (r?.docs.get(doc)?.direction === direction) r.docs.delete(doc)
    },
    streamReset(peerId, failure) {
      const r = record(peerId)
      r.resets++
      r.link = failure
      r.lastFailure = failure
    },
    linkUp(peerId) {
      const r = peers.get(peerId)
      if (r !== undefined) r.link = null
    },
    state(peerId, now) {
      const r = peers.get(peerId)
      const docs = {} as Record<DocName, DocSyncState>
      for (const d of now.docs) {
        const f = r?.docs.get(d.doc)
        docs[d.doc] = { inSync: d.inSync && d.behind === 0, behind: d.behind, failure: f === undefined ? null : { code: f.code, reason: f.reason, at: f.at } }
      }
      const failingDoc = DOC_NAMES.find((d) => docs[d]?.failure != null)
      let state: PeerSyncState['state']
      let reason: string | null = null
      if (now.backoff !== null) {
        state = 'backoff'
        reason = now.backoff.reason
      } else if (r?.link != null && !(now.streams.outbound && now.streams.inbound)) {
        state = 'failing'
        reason = `${r.link.code}: ${r.link.reason}`
      } else if (failingDoc !== undefined) {
        state = 'failing'
        const f = docs[failingDoc]?.failure as SyncFailure
        reason = `${failingDoc}: ${f.code} (${f.reason})`
      } else {
        state = now.docs.every((d) => docs[d.doc]?.inSync === true) ? 'in-sync' : 'syncing'
      }
      return { state, reason, docs, streams: { ...now.streams }, refused: { ...(r?.refused ?? {}) }, resets: r?.resets ?? 0, recentRefusals: now.recentRefusals, lastFailure: r?.lastFailure ?? null, backoff: now.backoff }
    },
    totals: () => ({ ...totals }),
  }
}
