/** The DocumentStorage contract, run against state.db on real disk in a temp dir and in memory. */
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createMemoryDocumentStorage, createSqliteDocumentStorage, openStateDb, type DocumentStorage, type StateDb } from '../../crdt/index.js'
import { tempDir } from '../support/temp-dir.js'
import { runDocumentStorageContract } from './document-storage.contract.js'

/** The state.db behind each storage handed out, so reopen and share find its file. */
const opened = new WeakMap<DocumentStorage, StateDb>()

function onDisk(path: string): DocumentStorage {
  const state = openStateDb(path, 0)
  onTestFinished(() => state.close())
  const storage = createSqliteDocumentStorage(state)
  opened.set(storage, state)
  return storage
}

runDocumentStorageContract('SQLite state.db on disk', {
  open: () => onDisk(join(tempDir(), 'state.db')),
  reopen(storage) {
    const state = opened.get(storage) as StateDb
    state.close()
    return onDisk(state.path)
  },
  share: (storage) => onDisk((opened.get(storage) as StateDb).path),
})

runDocumentStorageContract('in memory', { open: () => createMemoryDocumentStorage() })

describe('the SQLite document storage', () => {
  it('reports the durability its state.db was opened with', () => {
    const dir = tempDir()
    const strict = openStateDb(join(dir, 'a.db'), 0)
    const relaxed = openStateDb(join(dir, 'b.db'), 0, { durability: 'process-crash' })
    onTestFinished(() => {
      strict.close()
      relaxed.close()
    })
    expect(createSqliteDocumentStorage(strict).durability).toBe('power-loss')
    expect(createSqliteDocumentStorage(relaxed).durability).toBe('process-crash')
    expect(createMemoryDocumentStorage().durability).toBe('none')
  })
})
