/**
 * When may the leader tell the platform an update arrived (move the offset past it)? Once the
 * record is held where the next leader will find it, even if this machine's disk is gone: on a
 * majority of the voters. Learned from the sync engine's acknowledgements (ACK, type 5, of
 * sync-protocol.ts): a peer holds everything we sent it for the document once its stream has
 * applied our step 2 (`inSync`) and acknowledged every update since (`behind` 0).
 *
 * The records are committed first; the wait of one timer turn after that lets the sync outbox
 * (which batches on a zero timer armed by that commit) hand them to the peers' streams, so an
 * acknowledgement counted afterwards covers them.
 *
 * In solo, preferred-primary and witness modes there is no majority of record holders to
 * wait for (the witness holds no documents): the local commit is the confirmation there.
 */
import type { Clock } from '../runtime/index.js'
import { ChannelRecordUnconfirmedError } from './errors.js'

export interface MajorityConfirmDeps {
  committed(): Promise<void>
  clock: Clock
  /** The election mode now ('solo', 'quorum', 'witness', 'preferred-primary'). */
  mode(): string
  /** Voters of the roster (members and witnesses), this machine included. */
  voters(): number
  /** Per connected member, its sync state of each document (SyncEngine.status). */
  syncStatus(): Record<string, { docs: Record<string, { inSync: boolean; behind: number }> }>
  /** The document the records are in; default 'conversations'. */
  doc?: string
}

export interface MajorityConfirmOptions {
  /** How long to wait for a majority before giving up (the offset then stays: the platform re-delivers); default 5000 ms. */
  timeoutMs?: number
  /** How often to look again; default 5 ms. */
  pollMs?: number
}

export function createMajorityConfirm(deps: MajorityConfirmDeps, options: MajorityConfirmOptions = {}): () => Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000
  const pollMs = options.pollMs ?? 5
  const doc = deps.doc ?? 'conversations'
  return async () => {
    await deps.committed()
    if (deps.mode() !== 'quorum') return
    await deps.clock.sleep(0)
    const needed = Math.floor(deps.voters() / 2) + 1
    const deadline = deps.clock.now() + timeoutMs
    for (;;) {
      let holders = 1
      for (const peer of Object.values(deps.syncStatus())) {
        const d = peer.docs[doc]
        if (d !== undefined && d.inSync && d.behind === 0) holders++
      }
      if (holders >= needed) return
      if (deps.clock.now() >= deadline) throw new ChannelRecordUnconfirmedError(holders, needed)
      await deps.clock.sleep(pollMs)
    }
  }
}
