/**
 * When a peer's sync is switched off for a while: `refusalLimit` counted refusals of its
 * frames or updates within `refusalWindowMs` start a backoff of `backoffMs`, doubled on each
 * backoff that follows within `forgiveAfterMs` of the last one's end, up to `maxBackoffMs`.
 * Pure: every call takes `now`.
 *
 * What counts (countsTowardBackoff) is what only a buggy or hostile member sends: a frame that
 * does not decode, is too large, breaks the chunk or flow rules; an update that fails
 * authentication, is malformed, breaks the document's schema or costs too much. What does not
 * count is what a healthy member sends in the ordinary course of things:
 * - 'unknown-epoch': during a key rotation a member that already holds the new epoch seals
 *   under it before we have learned it; we ask again once we have (keys:change). Counting it
 *   would cut off exactly the members that are ahead.
 * - 'replay': the same sealed bytes reaching us twice (a relay, or a retry after a reconnect)
 *   is refused only so it is not applied twice; it is harmless.
 * - 'wrong-document': a frame for a document this release does not know is what a newer
 *   release's member sends; we ignore it.
 * - 'missing-dependency': an update that overtook one it builds on (from a third member); we
 *   ask its sender for a step 2 instead.
 * - a failure of our own (SYNC_APPLY_FAILED: the disk, say) or a stream that ended.
 */

export interface SyncBackoffOptions {
  /** Counted refusals within the window that start a backoff; default 10. */
  refusalLimit?: number
  /** default 60 s */
  refusalWindowMs?: number
  /** The first backoff; default 30 s. */
  backoffMs?: number
  /** default 30 min */
  maxBackoffMs?: number
  /** A backoff this long after the last one ended starts again from `backoffMs`; default 1 h. */
  forgiveAfterMs?: number
}

export interface Backoff {
  until: number
  /** 1 for the first backoff, 2 for the next one within forgiveAfterMs, and so on. */
  times: number
  reason: string
}

export interface SyncBackoff {
  /** Records one refusal; returns the backoff it starts, if it starts one. */
  refused(peerId: string, now: number, reason: string): Backoff | null
  /** The backoff in force for this peer at `now`, or null. */
  active(peerId: string, now: number): Backoff | null
  /** Refusals counted within the window at `now`. */
  recent(peerId: string, now: number): number
}

const BENIGN_REJECTIONS: ReadonlySet<string> = new Set(['unknown-epoch', 'replay', 'wrong-document', 'missing-dependency'])
const COUNTED_CODES: ReadonlySet<string> = new Set(['SYNC_FRAME_MALFORMED', 'SYNC_FRAME_TOO_LARGE', 'SYNC_CHUNK_REFUSED', 'SYNC_FLOW_VIOLATION'])

/** Whether a refusal with this code (and SyncUpdateRejectedError reason) counts toward a backoff; see the file comment. */
export function countsTowardBackoff(code: string, reason: string | undefined): boolean {
  if (code === 'SYNC_UPDATE_REJECTED') return reason === undefined || !BENIGN_REJECTIONS.has(reason)
  return COUNTED_CODES.has(code)
}

interface PeerRecord {
  refusals: number[]
  last: Backoff | null
}

export function createSyncBackoff(options: SyncBackoffOptions = {}): SyncBackoff {
  const limit = options.refusalLimit ?? 10
  const windowMs = options.refusalWindowMs ?? 60_000
  const first = options.backoffMs ?? 30_000
  const max = options.maxBackoffMs ?? 30 * 60_000
  const forgive = options.forgiveAfterMs ?? 60 * 60_000
  const peers = new Map<string, PeerRecord>()

  const record = (peerId: string): PeerRecord => {
    let r = peers.get(peerId)
    if (r === undefined) {
      r = { refusals: [], last: null }
      peers.set(peerId, r)
    }
    return r
  }
  const prune = (r: PeerRecord, now: number): void => {
    while (r.refusals.length > 0 && (r.refusals[0] ?? 0) <= now - windowMs) r.refusals.shift()
  }
  const active = (peerId: string, now: number): Backoff | null => {
    const last = peers.get(peerId)?.last ?? null
    return last !== null && now < last.until ? last : null
  }

  return {
    refused(peerId, now, reason) {
      if (active(peerId, now) !== null) return null
      const r = record(peerId)
      prune(r, now)
      r.refusals.push(now)
      if (r.refusals.length < limit) return null
      r.refusals = []
      const times = r.last !== null && now - r.last.until < forgive ? r.last.times + 1 : 1
      // 2^(times - 1) without overflow: past 2^30 the cap has long been reached.
      const ms = Math.min(max, first * 2 ** Math.min(times - 1, 30))
      r.last = { until: now + ms, times, reason }
      return r.last
    },
    active,
    recent(peerId, now) {
      const r = peers.get(peerId)
      if (r === undefined) return 0
      prune(r, now)
      return r.refusals.length
    },
  }
}
