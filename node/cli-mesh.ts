/** `instar mesh pair|peers|status|remove|leave`: the mesh of this machine, through its node's API. */
import type { Command } from 'commander'
import { type PeerView } from '../mesh/index.js'
import { createSystemClock } from '../runtime/index.js'
import { connectApi } from './api-client.js'
import { addCommonOptions, type CommonOptions } from './cli-common.js'
import { createOutput, formatDuration } from './cli-output.js'
import { UsageError } from './errors.js'
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
      const created = await api(flags).post<{ invitation: string; expiresAt: string; sas: string; role: string }>('/mesh/invitations', { ttlMs, witness })
      if (witness) {
        const { members } = await api(flags).get<{ members: number }>('/mesh/status')
        if (members !== 2) out.warn(`this mesh has ${members} machine${members === 1 ? '' : 's'}; a witness votes only while it has exactly two`)
      }
      out.result(created, () =>
        [
          witness ? 'Witness invitation (single use; run this on the witness, next to its --home):' : 'Invitation (single use; run this on the new machine):',
          '',
          `  instar mesh pair ${created.invitation}${witness ? ' --home ~/.instar-relay' : ''}`,
          '',
          `expires ${created.expiresAt}`,
          `the ${witness ? 'witness' : 'new machine'} will show the code ${created.sas}; check that it matches`,
        ].join('\n'),
      )
      return
    }
    if (flags.ttl !== undefined) throw new UsageError('--ttl is for making an invitation, not for joining')
    if (flags.witness === true) throw new UsageError('--witness is for making an invitation; a witness joins with a plain "instar mesh pair <invitation> --home <its home>"')
    const joined = await api(flags, 60_000).post<{
      mesh: string
      inviter: string
      sas: string
      witness: boolean
      members: Array<{ name: string; peerId: string; fingerprint: string; role: string }>
    }>('/mesh/join', { invitation: invitation.replace(/\s+/g, '') })
    out.result(joined, () =>
      [
        joined.witness ? `joined mesh ${joined.mesh} as its witness` : `joined mesh ${joined.mesh}`,
        `code ${joined.sas}: it must match the code the inviting machine showed`,
        'members:',
        ...joined.members.map((m) => `  ${m.name.padEnd(16)} ${m.fingerprint}${m.role === 'witness' ? '  (witness)' : ''}`),
      ].join('\n'),
    )
  })

  addCommonOptions(mesh.command('peers').description('list every machine of the mesh, connected or not')).action(async (flags: CommonOptions) => {
    const out = createOutput(flags.json === true)
    const { peers } = await api(flags).get<{ peers: PeerView[] }>('/mesh/peers')
    out.result({ peers }, () => {
      if (peers.length === 0) return 'no mesh yet: found one with "instar init --agent NAME" or join one with "instar mesh pair <invitation>"'
      const now = createSystemClock().now()
      return peers
        .map((p) =>
          [
            `${p.name}${p.self ? ' (this machine)' : ''}${p.role === 'witness' ? ' (witness: votes, never leads)' : ''}`,
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
    out.result(s, () => {
      if (s.agent === null) return 'not in a mesh yet: join one with "instar mesh pair <invitation>"'
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
      const info = await api(flags).get<{ leader: string | null; term: number; leaseExpiresAt: string | null; mode: string; self: string; role: string }>('/mesh/leader')
      const { leader, term, leaseExpiresAt, mode, self } = info
      out.result({ leader, term, leaseExpiresAt, mode, self }, () =>
        [
          `leader       ${leader === null ? 'none (an election is under way, or no majority is reachable)' : `${leader}${leader === self ? ' (this machine)' : ''}`}`,
          `term         ${term}`,
          `mode         ${describeMode(mode)}`,
          ...(leaseExpiresAt === null ? [] : [`lease until  ${leaseExpiresAt}`]),
        ].join('\n'),
      )
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
