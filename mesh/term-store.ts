/** A TermStore in memory: for a process whose term need not outlive it (tests, benches). */
import type { TermStore } from './election.js'

export function createMemoryTermStore(initial: { term: number; votedFor: string | null } = { term: 0, votedFor: null }): TermStore {
  let state = { ...initial }
  return {
    load: () => ({ ...state }),
    save: (next) => {
      state = { ...next }
    },
  }
}
