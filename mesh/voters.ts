/**
 * Who votes in the leader election. Two things with two different sources:
 *
 *  - the roster's voters (`rosterVoters`): every member, each able to lead, and in a mesh of
 *    exactly two members the roster's witness (the earliest added, then the smallest peer id),
 *    which votes but never leads. The witness counts only with two members: alone with one it
 *    would only make the leader wait for a second vote; with three or more it would make an
 *    even number of voters, which tolerates no more failures than the members alone and needs
 *    one more acknowledgement. This is only the TARGET: each node's roster syncs on its own,
 *    so two nodes may see different rosters at the same moment.
 *  - the voter configuration (`VoterConfig`), which is what the election counts. Only a
 *    leader changes it, toward its roster's voters, and it reaches the others on the wire
 *    (CONFIG, election-protocol.ts), stored durably beside the term before it is acknowledged.
 *
 * Why a configuration at all. If each node counted its own roster's voters, a node that has
 * synced the add of D counts a majority of {A,B,C,D} (3) while one that has not counts a
 * majority of {A,B,C} (2): {A,B} electing one leader and {C,D} plus a stale view another is
 * possible, and worse with two changes at once ({A,B,W} to {A,B,C} when a third machine joins
 * a mesh with a witness). So the roster never changes the count directly.
 *
 * The rule: joint consensus (Raft, section 6 of Ongaro's thesis), one change at a time, on a
 * log of one entry. We pick joint consensus over Raft's single-server rule because the changes
 * the roster asks for are not all single-server: a third machine joining two machines and a
 * witness swaps the witness out as the machine comes in, and removing a machine from three
 * with a witness configured brings the witness back. Joint consensus makes any change safe in
 * one step, and it does not suffer single-server's known flaw (a leader change during a change
 * can produce two uncommitted configurations whose majorities do not meet).
 *
 *  C1 A configuration is { stamp, epoch, voters, next }. While next is set (a joint
 *     configuration) every decision (a vote won, a pre-vote round, a lease renewed, a change
 *     committed) needs a majority of voters AND a majority of next. A node counts with the
 *     latest configuration it holds, committed or not (as Raft uses the latest entry of its
 *     log), never with its roster: a node that has the new roster but not the configuration
 *     keeps counting the old majority.
 *  C2 One change at a time. A leader proposes a change (voters, next = its roster's voters)
 *     only once its current configuration is committed: a majority of it (of both halves, if
 *     joint) has replied holding exactly its id. Then joint → next alone (epoch + 1) once the
 *     joint one is committed, and the next change only once that is committed. So the
 *     configurations that can decide at any moment are C_old and C_old,new (each needs a
 *     majority of C_old), or C_old,new and C_new (each needs a majority of C_new): any two
 *     decision quorums meet, so two leaders in one term are impossible (I1) and the voter a
 *     new leader needs from the old leader's last lease quorum exists (I2, I3).
 *  C3 Ids are (stamp, epoch), compared stamp first. The stamp is the term of the leader the
 *     configuration came from: a leader restamps its configuration with its term when elected
 *     (the no-op entry Raft's fix for configuration changes asks for), and a follower takes
 *     the leader's with that stamp. One leader per term and epochs growing within a term make
 *     an id name one configuration. A voter refuses a vote and a pre-vote to a candidate whose
 *     id is older than its own (Raft's up-to-date check): once a configuration is committed a
 *     majority holds it or a newer one, so every later leader holds it (Leader Completeness),
 *     and a node still on C_old cannot win against a committed C_old,new. A new leader must
 *     get its own stamp to a majority before it proposes (C2), so an uncommitted change of an
 *     older term is either carried on by it or overruled everywhere it could matter.
 *  C4 A node that holds no configuration is one of two kinds. A member of the mesh's first
 *     roster (a founder, or a member from before voter configurations, whose store never held
 *     one) counts its roster's voters until it leads or hears a leader; every member of that
 *     roster counts the same. A machine that joined (pairing stores an explicit none) counts
 *     nothing and never stands until a leader's configuration reaches it, as a new server in
 *     Raft starts with an empty configuration: otherwise newcomers whose roster no longer
 *     lists the old members (removed after the pairing) could elect one of themselves, with
 *     no voter in common with the old members' configuration. Any configuration a leader made
 *     outranks stamp 0, so such a node wins no vote from a node that has heard a leader.
 *  C5 A leader that its committed configuration leaves out hands over and steps down; a
 *     removed machine's messages are refused by the gater anyway.
 *
 * Preferred-primary (two machines, no witness) counts 1 of 2 and is not safe under a
 * partition whatever the configuration; changes into and out of it are counted the same way.
 */
import type { Roster } from './roster.js'
import { voterListProblem, type ConfigId, type ConfigVoter } from './election-protocol.js'

/** A voter as the election sees it: the roster's, with the priority the election ranks by. */
export interface RosterVoter {
  peerId: string
  priority: number
  canLead: boolean
}

export type ElectionMode = 'solo' | 'quorum' | 'witness' | 'preferred-primary'

export function rosterVoters(roster: Roster, priorityOf: (peerId: string) => number): RosterVoter[] {
  const members = roster.members()
  const voters: RosterVoter[] = members.map((m) => ({ peerId: m.peerId, priority: priorityOf(m.peerId), canLead: true }))
  if (members.length === 2) {
    const witness = roster.witnesses()[0]
    if (witness !== undefined) voters.push({ peerId: witness.peerId, priority: 0, canLead: false })
  }
  return voters
}

export function electionMode(voters: ReadonlyArray<{ canLead: boolean }>): ElectionMode {
  if (voters.length <= 1) return 'solo'
  const witnesses = voters.filter((v) => !v.canLead).length
  if (witnesses > 0 && voters.length <= 3) return 'witness'
  if (voters.length >= 3) return 'quorum'
  return 'preferred-primary'
}

/** Votes (or acks) a node needs, itself included. */
export function majorityOf(voters: ReadonlyArray<{ canLead: boolean }>): number {
  return electionMode(voters) === 'preferred-primary' ? 1 : Math.floor(voters.length / 2) + 1
}

/** The voters the election counts (see the header). stamp 0 is a node that never heard a leader. */
export interface VoterConfig {
  stamp: number
  epoch: number
  voters: ConfigVoter[]
  /** Set while a change is under way: decisions need a majority of voters and of next. */
  next: ConfigVoter[] | null
}

/** What a node that holds no configuration counts: its roster's voters (C4). */
export function bootConfig(voters: ReadonlyArray<{ peerId: string; canLead: boolean }>): VoterConfig {
  return { stamp: 0, epoch: 0, voters: voters.map((v) => ({ peerId: v.peerId, canLead: v.canLead })), next: null }
}

export const configId = (c: VoterConfig): ConfigId => ({ stamp: c.stamp, epoch: c.epoch })

/** Negative when a is older than b, 0 when the same, positive when newer (C3). */
export function compareConfigIds(a: ConfigId, b: ConfigId): number {
  return a.stamp !== b.stamp ? a.stamp - b.stamp : a.epoch - b.epoch
}

/** The configuration's entry for `peerId`, in voters or next. */
export function configVoter(c: VoterConfig, peerId: string): ConfigVoter | undefined {
  return c.voters.find((v) => v.peerId === peerId) ?? c.next?.find((v) => v.peerId === peerId)
}

/** Every voter of the configuration, each once. */
export function configMembers(c: VoterConfig): ConfigVoter[] {
  const seen = new Set(c.voters.map((v) => v.peerId))
  return [...c.voters, ...(c.next ?? []).filter((v) => !seen.has(v.peerId))]
}

/** Whether `ids` hold a majority of the configuration: of both halves while joint (C1). */
export function isConfigMajority(c: VoterConfig, ids: ReadonlySet<string>): boolean {
  const enough = (list: ConfigVoter[]): boolean => list.filter((v) => ids.has(v.peerId)).length >= majorityOf(list)
  return enough(c.voters) && (c.next === null || enough(c.next))
}

/**
 * The change a leader proposes toward its roster's voters: the target list if it differs from
 * the configuration's voters and is one the protocol carries (a node removed from its own
 * roster has no voter that can lead), else null.
 */
export function proposedChange(c: VoterConfig, target: ReadonlyArray<{ peerId: string; canLead: boolean }>): ConfigVoter[] | null {
  const next = target.map((v) => ({ peerId: v.peerId, canLead: v.canLead }))
  const key = (list: ConfigVoter[]): string => list.map((v) => `${v.peerId}:${v.canLead ? 1 : 0}`).sort().join(',')
  if (key(next) === key(c.voters) || voterListProblem(next) !== null) return null
  return next
}

/** A configuration as stored beside the term (undefined: never stored; null: none), or why it cannot be used. */
export function parseStoredConfig(stored: unknown): { config: VoterConfig | null; problem: string | null } {
  if (stored === undefined || stored === null) return { config: null, problem: null }
  const c = stored as Partial<VoterConfig>
  const int = (n: unknown, max: number): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max
  if (typeof stored !== 'object') return { config: null, problem: 'not an object' }
  if (!int(c.stamp, 2 ** 48 - 1) || !int(c.epoch, 0xffff_ffff)) return { config: null, problem: 'stamp or epoch out of range' }
  const problem = voterListProblem(c.voters) ?? (c.next === null || c.next === undefined ? null : voterListProblem(c.next))
  if (problem !== null) return { config: null, problem }
  return { config: { stamp: c.stamp!, epoch: c.epoch!, voters: c.voters!.map((v) => ({ peerId: v.peerId, canLead: v.canLead })), next: c.next?.map((v) => ({ peerId: v.peerId, canLead: v.canLead })) ?? null }, problem: null }
}
