/**
 * The SQLite TermStore on a real state.db: a term left out of range (2^53 - 1 by the code of
 * issue 9, or anything that is no term) is repaired when the store opens, committed, and
 * reported; a term in range is kept exactly.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createSqliteTermStore, openStateDb, type StateDb } from '../../crdt/index.js'
import { MAX_TERM, REPAIRED_TERM } from '../../mesh/index.js'
import { tempDir } from '../support/temp-dir.js'

function withDb<T>(path: string, fn: (state: StateDb) => T): T {
  const state = openStateDb(path, 0)
  try {
    return fn(state)
  } finally {
    state.close()
  }
}

function stored(path: string, term: string, votedFor: string): void {
  withDb(path, (state) => {
    state.setMeta('election.term', term)
    state.setMeta('election.votedFor', votedFor)
  })
}

describe('SQLite term store', () => {
  it('repairs a stored term of 2^53-1 on load, commits the repair and reports it once', () => {
    const path = join(tempDir(), 'state.db')
    stored(path, '9007199254740991', 'peer-b')
    withDb(path, (state) => {
      const store = createSqliteTermStore(state)
      expect(store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
      expect(store.repairs()).toEqual([{ code: 'ELECTION_TERM_REPAIRED', what: 'election.term', found: '9007199254740991', repairedTo: REPAIRED_TERM }])
      expect(state.getMeta('election.term')).toBe(String(REPAIRED_TERM))
      expect(state.getMeta('election.votedFor')).toBe('')
    })
    // The next start finds a clean term and reports nothing.
    withDb(path, (state) => {
      const store = createSqliteTermStore(state)
      expect(store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
      expect(store.repairs()).toEqual([])
    })
  })

  it.each([
    ['one over MAX_TERM', String(MAX_TERM + 1)],
    ['negative', '-3'],
    ['fractional', '1.5'],
    ['trailing garbage', '12abc'],
    ['leading zeros', '007'],
    ['garbage', 'not a term'],
    ['empty', ''],
    ['huge', '9'.repeat(400)],
  ])('repairs a stored term that is %s', (_name, term) => {
    const path = join(tempDir(), 'state.db')
    stored(path, term, 'peer-b')
    withDb(path, (state) => {
      const store = createSqliteTermStore(state)
      expect(store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
      expect(store.repairs()).toEqual([{ code: 'ELECTION_TERM_REPAIRED', what: 'election.term', found: term.slice(0, 64), repairedTo: REPAIRED_TERM }])
    })
  })

  it.each([['0'], ['57'], [String(MAX_TERM)]])('keeps a stored term of %s and its vote', (term) => {
    const path = join(tempDir(), 'state.db')
    stored(path, term, 'peer-b')
    withDb(path, (state) => {
      const store = createSqliteTermStore(state)
      expect(store.load()).toEqual({ term: Number(term), votedFor: 'peer-b' })
      expect(store.repairs()).toEqual([])
    })
  })

  it('starts a node that never stored a term at 0 with no vote, and keeps what it saves', () => {
    const path = join(tempDir(), 'state.db')
    withDb(path, (state) => {
      const store = createSqliteTermStore(state)
      expect(store.load()).toEqual({ term: 0, votedFor: null })
      store.save({ term: 9, votedFor: 'peer-c' })
    })
    withDb(path, (state) => expect(createSqliteTermStore(state).load()).toEqual({ term: 9, votedFor: 'peer-c' }))
  })

  it('keeps the voter configuration beside the term across a reopen, and stores none as null, apart from never stored', () => {
    const path = join(tempDir(), 'state.db')
    const config = { stamp: 3, epoch: 2, voters: [{ peerId: 'a', canLead: true }, { peerId: 'w', canLead: false }], next: [{ peerId: 'a', canLead: true }, { peerId: 'b', canLead: true }] }
    withDb(path, (state) => createSqliteTermStore(state).save({ term: 4, votedFor: 'a', config }))
    withDb(path, (state) => expect(createSqliteTermStore(state).load()).toEqual({ term: 4, votedFor: 'a', config }))
    // A save without a configuration leaves the stored one as it was.
    withDb(path, (state) => createSqliteTermStore(state).save({ term: 5, votedFor: null }))
    withDb(path, (state) => expect(createSqliteTermStore(state).load()).toEqual({ term: 5, votedFor: null, config }))
    withDb(path, (state) => createSqliteTermStore(state).save({ term: 5, votedFor: null, config: null }))
    withDb(path, (state) => expect(createSqliteTermStore(state).load()).toEqual({ term: 5, votedFor: null, config: null }))
  })

  it('hands a configuration that is not JSON to the election as found, for it to refuse', () => {
    const path = join(tempDir(), 'state.db')
    withDb(path, (state) => state.setMeta('election.config', '{"stamp": 1, "epo'))
    withDb(path, (state) => expect(createSqliteTermStore(state).load()).toEqual({ term: 0, votedFor: null, config: '{"stamp": 1, "epo' }))
  })
})
