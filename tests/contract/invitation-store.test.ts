/** The InvitationStore contract, run against invitations.json on real disk in a temp dir and in memory. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createMemoryInvitationStore, type InvitationStore } from '../../mesh/index.js'
import { createInvitationFile } from '../../node/invitation-file.js'
import { tempDir } from '../support/temp-dir.js'
import { runInvitationStoreContract } from './invitation-store.contract.js'

const paths = new WeakMap<InvitationStore, string>()

function file(path: string, logger: Parameters<typeof createInvitationFile>[1]): InvitationStore {
  const store = createInvitationFile(path, logger)
  paths.set(store, path)
  return store
}

runInvitationStoreContract('invitations.json on disk', {
  open: (logger) => file(join(tempDir(), 'invitations.json'), logger),
  // The file store holds nothing open: a new one on the same path is a reopen, and a second handle.
  reopen: (store, logger) => file(paths.get(store) as string, logger),
  share: (store, logger) => file(paths.get(store) as string, logger),
  openDamaged(text, logger) {
    const path = join(tempDir(), 'invitations.json')
    writeFileSync(path, text, { mode: 0o600 })
    return file(path, logger)
  },
})

runInvitationStoreContract('in memory', { open: () => createMemoryInvitationStore() })
