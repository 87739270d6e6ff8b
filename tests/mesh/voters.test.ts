import { afterEach, describe, expect, it } from 'vitest'
import { electionMode } from '../../mesh/election.js'
import { createRoster, type Roster } from '../../mesh/roster.js'
import { rosterVoters } from '../../mesh/voters.js'
import { keyOf, peerOf, seedOf } from '../support/fixed-keys.js'

const AGENT = 1
const [A, B, C, W, V] = [10, 11, 12, 20, 21] as const

const opened: Roster[] = []
afterEach(() => {
  for (const roster of opened.splice(0)) roster.destroy()
})

function roster(machines: number[], witnesses: number[] = []): Roster {
  const r = createRoster({ agentPublicKey: keyOf(AGENT) })
  opened.push(r)
  r.found(seedOf(AGENT), { publicKey: keyOf(A), name: 'alpha' }, 1000)
  let at = 2000
  for (const m of machines.filter((m) => m !== A)) r.add(seedOf(A), { publicKey: keyOf(m), name: `m${m}` }, at++)
  for (const w of witnesses) r.addWitness(seedOf(A), { publicKey: keyOf(w), name: `w${w}` }, at++)
  return r
}

describe('rosterVoters', () => {
  it('counts the witness with exactly two members, as a voter that cannot lead', () => {
    const voters = rosterVoters(roster([A, B], [W]), () => 0)
    expect(voters).toHaveLength(3)
    expect(voters.find((v) => v.peerId === peerOf(W))).toEqual({ peerId: peerOf(W), priority: 0, canLead: false })
    expect(voters.filter((v) => v.canLead).map((v) => v.peerId).sort()).toEqual([peerOf(A), peerOf(B)].sort())
    expect(electionMode(voters)).toBe('witness')
  })

  it('leaves the witness out with one member (solo) and with three (quorum)', () => {
    expect(electionMode(rosterVoters(roster([A], [W]), () => 0))).toBe('solo')
    const three = rosterVoters(roster([A, B, C], [W]), () => 0)
    expect(three.map((v) => v.peerId)).not.toContain(peerOf(W))
    expect(electionMode(three)).toBe('quorum')
  })

  it('is preferred-primary with two members and no witness, or once the witness is removed', () => {
    const r = roster([A, B], [W])
    r.remove(seedOf(B), keyOf(W), 5000)
    expect(electionMode(rosterVoters(r, () => 0))).toBe('preferred-primary')
    expect(electionMode(rosterVoters(roster([A, B]), () => 0))).toBe('preferred-primary')
  })

  it('picks the earliest added of two witnesses, the same on every machine', () => {
    const voters = rosterVoters(roster([A, B], [V, W]), () => 0)
    expect(voters.filter((v) => !v.canLead).map((v) => v.peerId)).toEqual([peerOf(V)])
  })

  it('takes each member\'s priority from the given lookup', () => {
    const voters = rosterVoters(roster([A, B], [W]), (peerId) => (peerId === peerOf(B) ? 7 : 1))
    expect(voters.find((v) => v.peerId === peerOf(B))?.priority).toBe(7)
    expect(voters.find((v) => v.peerId === peerOf(W))?.priority).toBe(0)
  })
})
