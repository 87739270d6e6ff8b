/** `instar mesh pair|peers|status|remove|leave`: the mesh of this machine, through its node's API. */
import type { Command } from 'commander'
import type { PeerView } from '../mesh/index.js'
import { createSystemClock } from '../runtime/index.js'
import { connectApi } from './api-client.js'
import { addCommonOptions, homeFlag, relayHomeFlag, type CommonOptions } from './cli-common.js'
import { createOutput, formatDuration, rewordError, type Output } from './cli-output.js'
import { connectTo } from './cli-node.js'
import { codeOf, UsageError } from './errors.js'
import { homePaths, resolveHome } from './paths.js'

function describeMode(mode: string): string {
  switch (mode) {
    case 'quorum':
      return 'quorum (a majority of the machines elects the leader)'
    case 'witness':
      return 'witness (two machines and a witness that votes but never leads)'
    case 'preferred-primary':
      return 'preferred-primary (two machines, no witness: the survivor takes over after a timeout; a network split can give two leaders for a while)'
    case 'solo':
      return 'solo (one machine leads alone)'
    default:
      return mode
  }
}

/** A peer's sync as GET /mesh/status gives it (node/api-mesh-routes.ts). */
interface PeerSyncJson {
  state: 'in-sync' | 'syncing' | 'failing' | 'backoff'
  reason: string | null
  docs: Record<string, { inSync: boolean; behind: number; failure: { code: string; reason: string; at: string } | null }>
  streams: { outbound: boolean; inbound: boolean }
  refused: Record<string, number>
  resets: number
  recentRefusals: number
  lastFailure: { code: string; reason: string; at: string } | null
  backoff: { until: string; times: number; reason: string } | null
}

/** The end of a peer's line in `mesh status`, and the lines under it when its sync fails. */
function describeSync(sync: PeerSyncJson | null, now: number): string {
  if (sync === null) return ''
  const lagging = Object.entries(sync.docs).filter(([, d]) => !d.inSync)
  const allSyncing = lagging.length === Object.keys(sync.docs).length && lagging.every(([, d]) => d.behind === 0)
  const progress = allSyncing ? 'documents syncing' : lagging.map(([doc, d]) => (d.behind > 0 ? `${doc} behind by ${d.behind}` : `${doc} syncing`)).join(', ')
  const counts = [
    ...Object.entries(sync.refused).map(([code, n]) => `${n} refused (${code})`),
    ...(sync.resets > 0 ? [`${sync.resets} stream reset${sync.resets === 1 ? '' : 's'}`] : []),
  ].join(', ')
  const detail = (lines: string[]): string => lines.map((l) => `\n      ${l}`).join('')
  switch (sync.state) {
    case 'in-sync':
      return `  documents in sync${counts === '' ? '' : detail([counts])}`
    case 'syncing':
      return `  ${progress}${counts === '' ? '' : detail([counts])}`
    case 'failing': {
      const failures = Object.entries(sync.docs).flatMap(([doc, d]) => (d.failure === null ? [] : [`${doc}: ${d.failure.code} (${d.failure.reason})`]))
      return `  sync failing: ${sync.reason ?? 'unknown'}${detail([...failures.filter((f) => f !== sync.reason), ...(progress === '' ? [] : [progress]), ...(counts === '' ? [] : [counts])])}`
    }
    case 'backoff': {
      const left = sync.backoff === null ? 0 : Math.max(0, Date.parse(sync.backoff.until) - now)
      return `  sync off for ${formatDuration(left)} more (backoff ${sync.backoff?.times ?? 1}): ${sync.reason ?? 'too many refusals'}${counts === '' ? '' : detail([counts])}`
    }
  }
}

/** Parses "15m", "2h", "90s", "1d" or plain milliseconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim())
  if (match === null) throw new UsageError(`--ttl must look like 15m, 2h or 1d, not "${text}"`)
  const n = Number.parseInt(match[1] ?? '0', 10)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1
  const ms = n * unit
  if (ms < 60_000 || ms > 7 * 86_400_000) throw new UsageError('--ttl must be between 1m and 7d')
  return ms
}

function api(flags: CommonOptions, timeoutMs?: number) {
  return connectApi(homePaths(resolveHome(flags.home, process.env)), timeoutMs === undefined ? {} : { timeoutMs })
}

interface JoinAnswer {
  mesh: string
  inviter: string
  sas: string
  witness: boolean
  members: Array<{ name: string; peerId: string; fingerprint: string; role: string }>
}

/**
 * Joins the mesh an invitation names, through the node running on `home` (`instar mesh pair
 * <invitation>`, and `instar relay pair` on a witness's data directory).
 */
export async function joinMesh(home: string, invitation: string, out: Output, what: 'node' | 'witness' = 'node'): Promise<void> {
  const client = connectTo(homePaths(home), what, { timeoutMs: 60_000 })
  let joined: JoinAnswer
  try {
    joined = await client.post<JoinAnswer>('/mesh/join', { invitation: invitation.replace(/\s+/g, '') })
  } catch (err) {
    if (codeOf(err) !== 'PAIRING_ALREADY_MEMBER') throw err
    const h = homeFlag(home)
    if (await isWitnessAt(home)) {
      throw rewordError(
        err,
        'this witness already serves a mesh, and a witness serves one mesh at a time. To move it: remove it on a machine of its mesh ' +
          `("instar mesh remove <witness name>" there), then here "instar relay stop${relayHomeFlag(home)}", and start a witness for the other mesh on a data directory of its own ("instar relay start --witness --detach --home DIR")`,
      )
    }
    throw rewordError(
      err,
      `this machine already belongs to a mesh, and a machine is in one mesh at a time. To move it to another: "instar mesh leave${h}", ` +
        `"instar node stop${h}", "instar init --force${h}" (a new identity, no agent state), "instar node start --detach${h}", then pair again`,
    )
  }
  out.result(joined, () =>
    [
      joined.witness ? `joined mesh ${joined.mesh} as its witness` : `joined mesh ${joined.mesh}`,
      `code ${joined.sas}: it must match the code the inviting machine showed`,
      'members:',
      ...joined.members.map((m) => `  ${m.name.padEnd(16)} ${m.fingerprint}${m.role === 'witness' ? '  (witness)' : ''}`),
    ].join('\n'),
  )
}

/** MESH_NOT_MEMBER from making an invitation, said from where the user stands: a witness, or a machine waiting to join. */
async function notMemberToInvite(flags: CommonOptions, err: unknown): Promise<unknown> {
  const home = resolveHome(flags.home, process.env)
  const h = homeFlag(home)
  if (await isWitnessHome(flags)) return rewordError(err, 'a witness cannot invite: make invitations on a machine of the mesh ("instar mesh pair" there)')
  return rewordError(
    err,
    `this machine is not in a mesh yet, so it cannot invite. To join one: make the invitation on a machine of the mesh ("instar mesh pair" there), then here "instar mesh pair <invitation>${h}". ` +
      `To found a new mesh here instead: "instar node stop${h}", "instar init --force --agent NAME${h}", "instar node start --detach${h}"`,
  )
}

/** Whether the node on this data directory runs as a witness (config.json's role), paired or not. */
async function isWitnessHome(flags: CommonOptions): Promise<boolean> {
  return isWitnessAt(resolveHome(flags.home, process.env))
}

async function isWitnessAt(home: string): Promise<boolean> {
  const node = await connectApi(homePaths(home))
    .get<{ role?: string }>('/node')
    .catch(() => null)
  return node?.role === 'witness'
}

const notInMeshText = (witness: boolean, home: string): string =>
  witness
    ? `this witness is not paired yet: make a witness invitation on a machine of the mesh ("instar mesh pair --witness"), then here "instar relay pair <invitation>${relayHomeFlag(home)}"`
    : `not in a mesh yet: join one with "instar mesh pair <invitation>${homeFlag(home)}" (make the invitation on a machine of the mesh with "instar mesh pair")`

export function registerMesh(program: Command): void {
  const mesh = program.command('mesh').description('pair machines into one mesh and inspect it')

  addCommonOptions(
    mesh
      .command('pair [invitation]')
      .description('without an argument: print an invitation for a new machine (or with --witness, for a witness); with one: join the mesh it names')
      .option('--ttl <duration>', 'how long the invitation stays valid (default 15m; 1m to 7d)')
      .option('--witness', 'invite a witness (instar relay start --witness) instead of a machine'),
  ).action(async (invitation: string | undefined, flags: CommonOptions & { ttl?: string; witness?: boolean }) => {
    const out = createOutput(flags.json === true)
    if (invitation === undefined) {
      const ttlMs = flags.ttl === undefined ? 15 * 60_000 : parseTtl(flags.ttl)
      const witness = flags.witness === true
      let created: { invitation: string; expiresAt: string; sas: string; role: string }
      try {
        created = await api(flags).post('/mesh/invitations', { ttlMs, witness })
      } catch (err) {
        throw codeOf(err) === 'MESH_NOT_MEMBER' ? await notMemberToInvite(flags, err) : err
      }
      if (witness) {
        const { members } = await api(flags).get<{ members: number }>('/mesh/status')
        if (members !== 2) out.warn(`this mesh has ${members} machine${members === 1 ? '' : 's'}; a witness votes only while it has exactly two`)
      }
      out.result(created, () =>
        [
          witness
            ? 'Witness invitation (single use; run this on the witness, adding --home DIR if its relay was started with one):'
            : 'Invitation (single use; run this on the new machine, its node running):',
          '',
          `  instar ${witness ? 'relay' : 'mesh'} pair ${created.invitation}`,
          '',
          `expires ${created.expiresAt}`,
          `the ${witness ? 'witness' : 'new machine'} will show the code ${created.sas}; check that it matches`,
          ...(witness ? [] : [`(on a machine not yet set up: "instar init", then "instar node start --detach", then the line above)`]),
        ].join('\n'),
      )
      return
    }
    if (flags.ttl !== undefined) throw new UsageError('--ttl is for making an invitation, not for joining')
    if (flags.witness === true) throw new UsageError('--witness is for making an invitation; a witness joins with a plain "instar mesh pair <invitation> --home <its home>"')
    await joinMesh(resolveHome(flags.home, process.env), invitation, out)
  })

  addCommonOptions(mesh.command('peers').description('list every machine of the mesh, connected or not')).action(async (flags: CommonOptions) => {
    const out = createOutput(flags.json === true)
    const { peers } = await api(flags).get<{ peers: PeerView[] }>('/mesh/peers')
    // Only the text of an empty list needs to know whether this is a witness.
    const witness = peers.length === 0 && !out.json && (await isWitnessHome(flags))
    out.result({ peers }, () => {
      if (peers.length === 0) return notInMeshText(witness, resolveHome(flags.home, process.env))
      const now = createSystemClock().now()
      return peers
        .map((p) =>
          [
            `${p.name}${p.self ? ' (this machine)' : ''}`,
            `  role         ${p.role === 'witness' ? 'witness (votes, never leads)' : 'member'}`,
            `  fingerprint  ${p.fingerprint}`,
            `  peer id      ${p.peerId}`,
            `  connected    ${p.connected ? 'yes' : 'no'}${p.rttMs === null || p.self ? '' : `, rtt ${p.rttMs} ms`}`,
            `  last seen    ${p.lastSeen === null ? 'never' : p.self ? 'now' : `${formatDuration(Math.max(0, now - p.lastSeen))} ago`}`,
            `  addresses    ${p.addresses.length === 0 ? '(none known)' : p.addresses.join('\n               ')}`,
          ].join('\n'),
        )
        .join('\n')
    })
  })

  addCommonOptions(mesh.command('status').description('summarise the mesh: agent, members, connected count')).action(async (flags: CommonOptions) => {
    const out = createOutput(flags.json === true)
    const s = await api(flags).get<{
      member: boolean
      witness: boolean
      removed: boolean
      meshId: string | null
      agent: { name: string; publicKey: string } | null
      members: number
      witnesses: number
      connected: number
      pendingInvitations: number
      meshKeyEpoch: number
      leader: { peerId: string | null; term: number; mode: string }
      peers: Array<{ name: string; peerId: string; role: string; connected: boolean; self: boolean; sync: PeerSyncJson | null }>
    }>('/mesh/status')
    const witnessHome = s.agent === null && !out.json && (await isWitnessHome(flags))
    out.result(s, () => {
      if (s.agent === null) return notInMeshText(witnessHome, resolveHome(flags.home, process.env))
      if (s.removed) return `this machine was removed from the mesh of ${s.agent.name}`
      const now = createSystemClock().now()
      return [
        `agent        ${s.agent.name}${s.witness ? ' (this machine is its witness)' : ''}`,
        `mesh         ${s.meshId ?? ''}`,
        `members      ${s.members}${s.witnesses > 0 ? ` and ${s.witnesses} witness` : ''} (${s.connected} connected to this machine)`,
        ...s.peers.map(
          (p) => `  ${p.connected ? '●' : '○'} ${p.name}${p.self ? ' (this machine)' : ''}${p.role === 'witness' ? ' (witness)' : ''}${describeSync(p.sync, now)}`,
        ),
        `leader       ${s.peers.find((p) => p.peerId === s.leader.peerId)?.name ?? 'none'} (term ${s.leader.term}, ${describeMode(s.leader.mode)})`,
        ...(s.witness ? [] : [`invitations  ${s.pendingInvitations} open`, `mesh key     epoch ${s.meshKeyEpoch}`]),
      ].join('\n')
    })
  })

  addCommonOptions(mesh.command('leader').description('which machine leads (owns the channels and the job clock), in which term and mode')).action(
    async (flags: CommonOptions) => {
      const out = createOutput(flags.json === true)
      const client = api(flags)
      type LeaderJson = { leader: string | null; term: number; leaseExpiresAt: string | null; mode: string; self: string }
      type StatusJson = { agent: { name: string } | null; removed: boolean; peers: Array<{ name: string; peerId: string }> }
      // The text names the leader and says when there is no mesh at all, which /mesh/status knows;
      // --json asks only /mesh/leader, so that a script polling it makes one request.
      const [info, status] = await Promise.all([
        client.get<LeaderJson>('/mesh/leader'),
        out.json ? Promise.resolve(null) : client.get<StatusJson>('/mesh/status'),
      ])
      const { leader, term, leaseExpiresAt, mode, self } = info
      const witnessHome = status !== null && status.agent === null && (await isWitnessHome(flags))
      out.result({ leader, term, leaseExpiresAt, mode, self }, () => {
        if (status?.agent === null) return notInMeshText(witnessHome, resolveHome(flags.home, process.env))
        if (status?.removed === true) return `this machine was removed from the mesh of ${status.agent.name}: it has no leader`
        const name = status?.peers.find((p) => p.peerId === leader)?.name
        return [
          `leader       ${leader === null ? 'none (an election is under way, or no majority is reachable)' : `${name ?? 'unknown machine'}${leader === self ? ' (this machine)' : ''}, peer id ${leader}`}`,
          `term         ${term}`,
          `mode         ${describeMode(mode)}`,
          ...(leaseExpiresAt === null ? [] : [`lease until  ${leaseExpiresAt}`]),
        ].join('\n')
      })
    },
  )

  addCommonOptions(
    mesh.command('remove <member>').description('remove a machine or the witness (by peer id, fingerprint or name); a machine\'s removal rotates the mesh key'),
  ).action(async (member: string, flags: CommonOptions) => {
    const out = createOutput(flags.json === true)
    const result = await api(flags).post<{ removed: { name: string; peerId: string; fingerprint: string; role: string } }>('/mesh/remove', { member })
    out.result(result, () =>
      result.removed.role === 'witness'
        ? `removed the witness ${result.removed.name} (${result.removed.fingerprint}); it never held the mesh key`
        : `removed ${result.removed.name} (${result.removed.fingerprint}); the mesh key was rotated without it`,
    )
  })

  addCommonOptions(mesh.command('leave').description('remove this machine from its mesh')).action(async (flags: CommonOptions) => {
    const out = createOutput(flags.json === true)
    const result = await api(flags).post<{ left: boolean }>('/mesh/leave', {})
    out.result(result, () => 'this machine left the mesh; the others will refuse it from now on')
  })
}
