/**
 * Issue 9's last part, measured: GET /node latency of a real `instar node start` process (the
 * leader, priority 100, with BENCH_HOSTILE_ENTRIES memory entries) while a hostile peer sends
 * it the seeded attacks of the hostile fuzzer (bench/hostile-*.ts, as tests/hostile/fuzz.test.ts
 * does, but back to back and without waiting on the victim), against a baseline with no attack
 * in the same run. Two attack phases: a witness (election, roster and pairing frames), during
 * which the leader must keep its lease (same leader and term throughout: lease_kept 1); then a
 * member (sync too, with costly and schema-breaking sealed updates), which may legitimately
 * win an election, so its leader changes are only reported. An honest member (in this process)
 * makes the mesh whole. The API is sampled from a process of its own (bench/api-sampler.ts).
 *
 * BENCH_HOSTILE_SEED, BENCH_HOSTILE_WINDOW_MS (per phase), BENCH_HOSTILE_GAP_MS (between
 * requests) and BENCH_HOSTILE_ENTRIES tune it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { MAX_SYNC_FRAME, SYNC_PROTOCOL, createAgentState, createSqliteDocumentStorage, openStateDb } from '../crdt/index.js'
import { createReassembler, type Reassembler } from '../crdt/sync-reassembly.js'
import { createSyncReceiver } from '../crdt/sync-stream.js'
import { keyPairFromSeed, type MeshKey } from '../identity/index.js'
import { ELECTION_PROTOCOL, PAIRING_PROTOCOL, ROSTER_SYNC_PROTOCOL, frameStream, type JoinedMembership, type Roster } from '../mesh/index.js'
import { silentLogger } from '../runtime/index.js'
import { benchNode, clock, startBenchMesh, until, type BenchNode } from './bench-node.js'
import { createHostileDriver, openSyncLink, type SyncLink } from './hostile-driver.js'
import { electionAttack } from './hostile-election.js'
import { pairingAttack } from './hostile-pairing.js'
import { rosterAttack } from './hostile-roster.js'
import { syncAttack } from './hostile-sync.js'
import { pick, seededRandom, type Attack } from './hostile-wire.js'
import { percentile, report } from './report.js'

const BIN = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))
const SAMPLER = fileURLToPath(new URL('./api-sampler.js', import.meta.url))
const SEED = Number(process.env.BENCH_HOSTILE_SEED ?? 9)
const WINDOW_MS = Number(process.env.BENCH_HOSTILE_WINDOW_MS ?? 10_000)
const GAP_MS = Number(process.env.BENCH_HOSTILE_GAP_MS ?? 10)
const ENTRIES = Number(process.env.BENCH_HOSTILE_ENTRIES ?? 500)
const NAME = 'hostile'
const PROTOCOL_IDS = { election: ELECTION_PROTOCOL, roster: ROSTER_SYNC_PROTOCOL, pairing: PAIRING_PROTOCOL, sync: SYNC_PROTOCOL } as const

const dir = mkdtempSync(join(tmpdir(), 'instar-bench-hostile-'))
const home = join(dir, 'victim')
let victimPid = 0

function instar(args: string[]): string {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`instar ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}

const run = (): { api: string; pid: number; peerId: string } => JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { api: string; pid: number; peerId: string }
const token = (): string => readFileSync(join(home, 'api.token'), 'utf8').trim()

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${run().api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: clock.timeoutSignal(30_000),
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** Samples the victim's API for WINDOW_MS from its own process while `during` runs (until the sampler is done). */
async function sampled(during: (done: () => boolean) => Promise<void> = async () => undefined): Promise<{ times: number[]; leaders: string[] }> {
  const child = spawn(process.execPath, [SAMPLER, run().api, token(), String(WINDOW_MS), String(GAP_MS)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  let finished = false
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  void exited.then(() => {
    finished = true
  })
  await during(() => finished)
  await exited
  return JSON.parse(out.trim()) as { times: number[]; leaders: string[] }
}

function reportLatency(phase: string, times: number[]): void {
  report(NAME, `get_node_${phase}_p50`, percentile(times, 50), 'ms')
  report(NAME, `get_node_${phase}_p99`, percentile(times, 99), 'ms')
  report(NAME, `get_node_${phase}_max`, Math.max(...times), 'ms')
  report(NAME, `get_node_${phase}_requests`, times.length, 'count')
}

async function joined(name: string, witness = false): Promise<BenchNode> {
  const n = benchNode(name, false, witness)
  await startBenchMesh(n)
  await n.mesh.join((await call<{ invitation: string }>('POST', '/mesh/invitations', witness ? { witness: true } : {})).invitation)
  return n
}

/** Sends attacks back to back until `done`; counts them by protocol. */
async function attackUntil(done: () => boolean, next: () => Promise<Attack | null>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  while (!done()) {
    const attack = await next()
    if (attack !== null) counts[attack.protocol] = (counts[attack.protocol] ?? 0) + 1
    // Give the event loop a turn, so the sampler's process is never the only one waiting on us.
    await clock.sleep(0)
  }
  return counts
}

try {
  instar(['init', '--home', home, '--name', 'victim', '--agent', 'bench', '--priority', '100'])
  instar(['node', 'start', '--home', home, '--detach', '--listen', '/ip4/127.0.0.1/tcp/0'])
  victimPid = run().pid
  const victim = run().peerId
  for (let i = 0; i < ENTRIES; i++) await call('POST', '/memory', { text: `entry ${i} of the victim`, topic: 'notes' })
  const honest = await joined('honest')
  const w = await joined('witness', true)
  const leads = async (): Promise<{ leader: string | null; term: number }> => call('GET', '/mesh/leader')
  const untilLeads = async (): Promise<void> => {
    const end = clock.now() + 60_000
    while ((await leads()).leader !== victim) {
      if (clock.now() > end) throw new Error('the victim does not lead')
      await clock.sleep(50)
    }
  }
  await untilLeads()
  const random = seededRandom(SEED)
  report(NAME, 'seed', SEED, 'seed')

  reportLatency('baseline', (await sampled()).times)

  // A witness: election, roster and pairing frames.
  {
    const driver = createHostileDriver(w.mesh.host.libp2p, clock)
    const roster = w.mesh.roster() as Roster
    const before = await leads()
    const counts: Record<string, number> = {}
    const result = await sampled(async (done) => {
      Object.assign(
        counts,
        await attackUntil(done, async () => {
          const roll = random()
          const attack =
            roll < 0.5
              ? electionAttack(random, { term: before.term, cannotLead: true })
              : roll < 0.85
                ? rosterAttack(random, { meshId: roster.meshId, agentSeed: null, senderSeed: w.seed, senderIsMember: false, state: () => roster.encodeState(), heads: () => [], others: [victim, honest.mesh.peerId] })
                : pairingAttack(random, { publicKey: keyPairFromSeed(w.seed).publicKey, participant: true, openInvites: [] })
          await driver.send(victim, PROTOCOL_IDS[attack.protocol], attack)
          return attack
        }),
      )
    })
    driver.close()
    const after = await leads()
    reportLatency('during_witness_attack', result.times)
    for (const [protocol, n] of Object.entries(counts)) report(NAME, `witness_${protocol}_attacks`, n, 'count')
    report(NAME, 'witness_lease_kept', after.leader === victim && after.term === before.term && result.leaders.every((l) => l === `${victim}@${before.term}`) ? 1 : 0, 'bool')
  }

  // A member: every protocol, sync included, with the real mesh key.
  {
    const m = await joined('mallory')
    const db = openStateDb(join(dir, 'mallory.db'), 0)
    const state = createAgentState({ mesh: m.mesh, storage: createSqliteDocumentStorage(db), clock, logger: silentLogger })
    await state.start()
    await until(() => state.memory.size() >= ENTRIES)
    const memory = new Y.Doc()
    Y.applyUpdate(memory, Y.encodeStateAsUpdate(state.documents.doc('memory')))
    state.stop()
    db.close()
    await m.mesh.handle(SYNC_PROTOCOL, (stream) => void createSyncReceiver(frameStream(stream, MAX_SYNC_FRAME), { handle: async () => undefined, enqueue: (task) => void task() }))
    await untilLeads()
    const driver = createHostileDriver(m.mesh.host.libp2p, clock)
    const roster = m.mesh.roster() as Roster
    const key = m.mesh.meshKeys().at(-1) as MeshKey
    const meshId = roster.meshId
    const agentSeed = (m.joined as JoinedMembership).agentSeed
    let link: { link: SyncLink; reassembler: Reassembler } | null = null
    const sent: Uint8Array[] = []
    let n = 0
    const before = await leads()
    const counts: Record<string, number> = {}
    const result = await sampled(async (done) => {
      Object.assign(
        counts,
        await attackUntil(done, async () => {
          const roll = random()
          if (roll < 0.5) {
            if (link === null || !link.link.alive()) {
              link?.link.abort()
              const opened = await openSyncLink(() => m.mesh.openStream(victim, SYNC_PROTOCOL), clock)
              link = opened === null ? null : { link: opened, reassembler: createReassembler() }
            }
            const attack = syncAttack(random, { meshId, key, memory, reassembler: link?.reassembler ?? createReassembler(), sent, tag: `bench-${n++}` })
            if (link !== null && (!(await link.link.write(attack.pieces)) || attack.resets || attack.end === 'abandon')) {
              link.link.abort()
              link = null
            }
            return attack
          }
          const attack =
            roll < 0.7
              ? electionAttack(random, { term: before.term, cannotLead: false })
              : roll < 0.9
                ? rosterAttack(random, { meshId, agentSeed, senderSeed: m.seed, senderIsMember: true, state: () => roster.encodeState(), heads: () => [], others: [victim, honest.mesh.peerId] })
                : pairingAttack(random, { publicKey: keyPairFromSeed(m.seed).publicKey, participant: true, openInvites: [] })
          await driver.send(victim, PROTOCOL_IDS[attack.protocol], attack)
          return attack
        }),
      )
    })
    driver.close()
    ;(link as { link: SyncLink } | null)?.link.abort()
    reportLatency('during_member_attack', result.times)
    for (const [protocol, count] of Object.entries(counts)) report(NAME, `member_${protocol}_attacks`, count, 'count')
    report(NAME, 'member_leaders_seen', result.leaders.length, 'count')
    await m.mesh.stop()
  }

  let alive = true
  try {
    process.kill(victimPid, 0)
  } catch {
    alive = false
  }
  report(NAME, 'victim_alive', alive ? 1 : 0, 'bool')
  await honest.mesh.stop()
  await w.mesh.stop()
  await call('POST', '/node/stop', {}).catch(() => undefined)
  await until(() => {
    try {
      process.kill(victimPid, 0)
      return false
    } catch {
      return true
    }
  }, 30_000).catch(() => undefined)
} finally {
  try {
    if (victimPid > 0) process.kill(victimPid, 'SIGKILL')
  } catch {
    // gone
  }
  rmSync(dir, { recursive: true, force: true })
}
