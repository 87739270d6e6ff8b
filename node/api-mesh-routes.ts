/** Mesh routes of the local API: status, peers, invitations, joining, removal, leaving. */
import type { FastifyInstance } from 'fastify'
import type { PeerSyncState, SyncFailure } from '../crdt/index.js'
import type { Mesh } from '../mesh/index.js'

const MIN_TTL_MS = 60_000
const MAX_TTL_MS = 7 * 24 * 60 * 60_000

export interface MeshRoutesDeps {
  /** Runs after a successful join, before the answer (starts the agent's documents). */
  afterJoin(): Promise<void>
  /** Per connected peer: how its sync goes, per document, and why it fails if it does. */
  syncStatus(): Record<string, PeerSyncState>
}

const iso = (ms: number): string => new Date(ms).toISOString()
const failureJson = (f: SyncFailure | null) => (f === null ? null : { code: f.code, reason: f.reason, at: iso(f.at) })

/** A peer's sync as `GET /mesh/status` shows it (README, `instar mesh status`): times as ISO strings. */
function syncJson(s: PeerSyncState) {
  return {
    state: s.state,
    reason: s.reason,
    docs: Object.fromEntries(Object.entries(s.docs).map(([doc, d]) => [doc, { inSync: d.inSync, behind: d.behind, failure: failureJson(d.failure) }])),
    streams: s.streams,
    refused: s.refused,
    resets: s.resets,
    recentRefusals: s.recentRefusals,
    lastFailure: failureJson(s.lastFailure),
    backoff: s.backoff === null ? null : { until: iso(s.backoff.until), times: s.backoff.times, reason: s.backoff.reason },
  }
}

export function registerMeshRoutes(fastify: FastifyInstance, mesh: Mesh, deps: MeshRoutesDeps): void {
  fastify.get('/mesh/status', async () => {
    const status = mesh.status()
    const peers = mesh.peers()
    const sync = deps.syncStatus()
    const leader = mesh.leader()
    return {
      ...status,
      leader: { peerId: leader.leader, term: leader.term, mode: leader.mode },
      peers: peers.map((p) => ({ name: p.name, peerId: p.peerId, role: p.role, connected: p.connected, self: p.self, sync: sync[p.peerId] === undefined ? null : syncJson(sync[p.peerId] as PeerSyncState) })),
    }
  })

  fastify.get('/mesh/peers', async () => ({ peers: mesh.peers() }))

  fastify.get('/mesh/leader', async () => {
    const info = mesh.leader()
    return {
      leader: info.leader,
      term: info.term,
      leaseExpiresAt: info.leaseExpiresAt === null ? null : new Date(info.leaseExpiresAt).toISOString(),
      mode: info.mode,
      self: info.self,
      role: info.role,
    }
  })

  fastify.post(
    '/mesh/invitations',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { ttlMs: { type: 'integer', minimum: MIN_TTL_MS, maximum: MAX_TTL_MS }, witness: { type: 'boolean' } },
        },
      },
    },
    async (request) => {
      const body = (request.body ?? {}) as { ttlMs?: number; witness?: boolean }
      const invitation = mesh.invite(body.ttlMs ?? 15 * 60_000, body.witness === true ? 'witness' : 'member')
      return { invitation: invitation.token, expiresAt: new Date(invitation.expiresAt).toISOString(), sas: invitation.sas, role: invitation.role }
    },
  )

  fastify.post(
    '/mesh/join',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['invitation'],
          properties: { invitation: { type: 'string', minLength: 1, maxLength: 65_536 } },
        },
      },
    },
    async (request) => {
      const { invitation } = request.body as { invitation: string }
      const joined = await mesh.join(invitation)
      await deps.afterJoin()
      return {
        mesh: joined.mesh,
        inviter: joined.inviter,
        sas: joined.sas,
        witness: mesh.status().witness,
        members: joined.members.map((m) => ({ name: m.name, peerId: m.peerId, fingerprint: m.fingerprint, role: m.role })),
      }
    },
  )

  fastify.post(
    '/mesh/remove',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['member'],
          properties: { member: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request) => {
      const { member } = request.body as { member: string }
      const removed = await mesh.remove(member)
      return { removed: { name: removed.name, peerId: removed.peerId, fingerprint: removed.fingerprint, role: removed.role } }
    },
  )

  fastify.post(
    '/mesh/leave',
    { schema: { body: { type: 'object', additionalProperties: false, properties: {} } } },
    async () => {
      await mesh.leave()
      return { left: true }
    },
  )
}
