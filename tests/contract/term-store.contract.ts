/**
 * The contract of the election's TermStore port, run against every implementation: the term
 * and vote come back as saved, and a stored term out of range is repaired to REPAIRED_TERM with
 * no vote and reported as ELECTION_TERM_REPAIRED (mesh/term-store.ts says why).
 */
import { describe, expect, it } from 'vitest'
import { MAX_TERM, REPAIRED_TERM, type StateRepair, type TermStore } from '../../mesh/index.js'

export type RepairingTermStore = TermStore & { repairs(): StateRepair[] }

export interface TermStoreSubject {
  /** A new store that holds nothing yet. */
  open(): RepairingTermStore
  /** A new store over a stored term and vote as they were left (text, as a damaged disk or older code left it). */
  openHolding(term: string, votedFor: string | null): RepairingTermStore
  /** Closes `store` and opens what it stored again; only a store that outlives its process has it. */
  reopen?(store: RepairingTermStore): RepairingTermStore
  /** A second handle on what `store` stores, as another connection. */
  share?(store: RepairingTermStore): RepairingTermStore
}

export function runTermStoreContract(name: string, subject: TermStoreSubject): void {
  describe(`TermStore contract: ${name}`, () => {
    it('starts at term 0 with no vote and nothing repaired', () => {
      const store = subject.open()
      expect(store.load()).toEqual({ term: 0, votedFor: null })
      expect(store.repairs()).toEqual([])
    })

    it('loads the term and vote as saved, the last save winning', () => {
      const store = subject.open()
      store.save({ term: 3, votedFor: 'peer-a' })
      expect(store.load()).toEqual({ term: 3, votedFor: 'peer-a' })
      store.save({ term: 4, votedFor: null })
      expect(store.load()).toEqual({ term: 4, votedFor: null })
      store.save({ term: MAX_TERM, votedFor: 'peer-b' })
      expect(store.load()).toEqual({ term: MAX_TERM, votedFor: 'peer-b' })
    })

    it('keeps what it stored when the caller changes an object it saved or loaded', () => {
      const store = subject.open()
      const state = { term: 7, votedFor: 'peer-a' as string | null }
      store.save(state)
      state.term = 8
      const loaded = store.load()
      loaded.votedFor = 'peer-z'
      expect(store.load()).toEqual({ term: 7, votedFor: 'peer-a' })
    })

    it('keeps a stored term in range exactly, with its vote', () => {
      const store = subject.openHolding('42', 'peer-b')
      expect(store.load()).toEqual({ term: 42, votedFor: 'peer-b' })
      expect(store.repairs()).toEqual([])
    })

    it.each([
      ['2^53-1', '9007199254740991'],
      ['one over MAX_TERM', String(MAX_TERM + 1)],
      ['negative', '-3'],
      ['fractional', '1.5'],
      ['not a number', 'not a term'],
    ])('repairs a stored term that is %s to REPAIRED_TERM with no vote, and reports ELECTION_TERM_REPAIRED', (_name, term) => {
      const store = subject.openHolding(term, 'peer-b')
      expect(store.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
      expect(store.repairs()).toEqual([{ code: 'ELECTION_TERM_REPAIRED', what: 'election.term', found: term, repairedTo: REPAIRED_TERM }])
    })

    if (subject.reopen !== undefined) {
      const reopen = subject.reopen.bind(subject)
      it('keeps the saved term and vote across a reopen, so a restarted node never votes twice in a term', () => {
        const store = subject.open()
        store.save({ term: 9, votedFor: 'peer-c' })
        expect(reopen(store).load()).toEqual({ term: 9, votedFor: 'peer-c' })
      })

      it('commits a repair, so the next open finds a clean term and reports nothing', () => {
        const again = reopen(subject.openHolding('9007199254740991', 'peer-b'))
        expect(again.load()).toEqual({ term: REPAIRED_TERM, votedFor: null })
        expect(again.repairs()).toEqual([])
      })
    }

    if (subject.share !== undefined) {
      const share = subject.share.bind(subject)
      it('shows a save through one handle to a load through the other', () => {
        const store = subject.open()
        const other = share(store)
        store.save({ term: 5, votedFor: 'peer-a' })
        expect(other.load()).toEqual({ term: 5, votedFor: 'peer-a' })
        other.save({ term: 6, votedFor: null })
        expect(store.load()).toEqual({ term: 6, votedFor: null })
      })
    }
  })
}
