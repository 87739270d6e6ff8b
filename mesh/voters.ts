/**
 * Who votes in the leader election, from the roster: every member, each able to lead, and
 * in a mesh of exactly two members the roster's witness (the earliest added, then the
 * smallest peer id), which votes but never leads.
 *
 * The witness counts only with two members: alone with one it would only make the leader
 * wait for a second vote; with three or more it would make an even number of voters, which
 * tolerates no more failures than the members alone and needs one more acknowledgement.
 * Every node computes this from the same roster, so they agree once the roster has synced.
 */
import type { Voter } from './election.js'
import type { Roster } from './roster.js'

export function rosterVoters(roster: Roster, priorityOf: (peerId: string) => number): Voter[] {
  const members = roster.members()
  const voters: Voter[] = members.map((m) => ({ peerId: m.peerId, priority: priorityOf(m.peerId), canLead: true }))
  if (members.length === 2) {
    const witness = roster.witnesses()[0]
    if (witness !== undefined) voters.push({ peerId: witness.peerId, priority: 0, canLead: false })
  }
  return voters
}
