/**
 * An InvitationStore in memory, for tests and for a process whose invitations need not outlive
 * it. The node keeps them in invitations.json (node/invitation-file.ts); both pass
 * tests/contract/invitation-store.contract.ts. Records are copied in and out, so a caller that
 * changes a record it saved or loaded changes nothing stored.
 */
import type { InvitationRecord, InvitationStore } from './pairing-inviter.js'

export function createMemoryInvitationStore(): InvitationStore {
  let records: InvitationRecord[] = []
  const copy = (r: InvitationRecord): InvitationRecord => ({ ...r, addresses: [...r.addresses] })
  return {
    load: () => records.map(copy),
    save(next) {
      records = next.map(copy)
    },
  }
}
