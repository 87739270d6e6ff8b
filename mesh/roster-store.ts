/**
 * A RosterStore in memory, for tests and for a process whose roster need not outlive it. The
 * SQLite one is crdt/roster-store.ts; both pass tests/contract/roster-store.contract.ts.
 * Bytes are copied in and out, so a caller that changes a buffer changes nothing stored.
 */
import type { RosterStore } from './roster.js'

/** Whether `id` can be a pinned genesis event id (64 lowercase hex); a store loads anything else as no pin. */
export function isGenesisId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)
}

export function createMemoryRosterStore(): RosterStore {
  const updates: Uint8Array[] = []
  let genesis: string | undefined
  return {
    load: () => updates.map((u) => u.slice()),
    append(update) {
      updates.push(update.slice())
    },
    loadGenesis: () => (isGenesisId(genesis) ? genesis : undefined),
    saveGenesis(genesisId) {
      genesis = genesisId
    },
  }
}
