/**
 * Issue 9, part 2, measured: GET /node latency of a real `instar node start` process (the
 * leader, with BENCH_HOSTILE_ENTRIES memory entries) while a member sends it, over a real sync
 * stream and sealed with the real mesh key, each costly update of bench/hostile-updates.ts:
 * 60,000 concurrent text inserts after one of its entries, the same as map entries, and 60,000
 * concurrent sets of one key; then, for contrast, 100,000 legitimate new entries.
 * Baseline: the same requests with nothing arriving, in the same run. Also reported: whether
 * the leader kept its lease (same leader and term, 1 or 0) and whether the update was refused
 * with the expected reason (1 or 0, read from the victim's log).
 *
 * The requests are sequential, one every BENCH_HOSTILE_GAP_MS; a request that does not answer
 * within 30 s counts as 30,000 ms.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { SYNC_PROTOCOL, createAgentState, createSqliteDocumentStorage, openStateDb, sealUpdate } from '../crdt/index.js'
import { encodeSyncMessageFrame, syncFrameCount } from '../crdt/sync-protocol.js'
import { silentLogger } from '../runtime/index.js'
import { benchNode, clock, startBenchMesh, until } from './bench-node.js'
import { openSyncLink } from './hostile-driver.js'
import { prefixed } from './hostile-wire.js'
import { concurrentInserts, itemOf, keyFlood } from './hostile-updates.js'
import { percentile, report } from './report.js'

const BIN = fileURLToPath(new URL('../../bin/instar.js', import.meta.url))
const ENTRIES = Number(process.env.BENCH_HOSTILE_ENTRIES ?? 2000)
const INSERTS = Number(process.env.BENCH_HOSTILE_INSERTS ?? 60_000)
const WINDOW_MS = Number(process.env.BENCH_HOSTILE_WINDOW_MS ?? 8000)
const GAP_MS = Number(process.env.BENCH_HOSTILE_GAP_MS ?? 10)
const LEGIT_ENTRIES = Number(process.env.BENCH_HOSTILE_LEGIT_ENTRIES ?? 100_000)
const LEGIT_CHUNK = 20_000
const NAME = 'hostile-update'

const dir = mkdtempSync(join(tmpdir(), 'instar-bench-hostile-'))
const home = join(dir, 'victim')
let victimPid = 0

interface Leader {
  leader: string | null
  term: number
}

function instar(args: string[]): string {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`instar ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}

const run = (): { api: string; pid: number } => JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { api: string; pid: number }
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

/** GET /node latencies, one request at a time, until `done` (checked between requests) or the window ends. */
async function sample(windowMs: number, done: () => boolean | Promise<boolean> = () => false): Promise<number[]> {
  const times: number[] = []
  const end = performance.now() + windowMs
  while (performance.now() < end && !(await done())) {
    const t0 = performance.now()
    try {
      await call('GET', '/node')
      times.push(performance.now() - t0)
    } catch {
      times.push(30_000)
    }
    await clock.sleep(GAP_MS)
  }
  return times
}

function reportLatency(phase: string, times: number[]): void {
  report(NAME, `get_node_${phase}_p50`, percentile(times, 50), 'ms')
  report(NAME, `get_node_${phase}_p99`, percentile(times, 99), 'ms')
  report(NAME, `get_node_${phase}_max`, Math.max(...times), 'ms')
}

function refusedAs(reason: string): boolean {
  const log = readFileSync(join(home, 'logs', 'node.log'), 'utf8')
  return log.split('\n').some((line) => line.startsWith('{') && (JSON.parse(line) as { code?: string; reason?: string }).code === 'SYNC_UPDATE_REJECTED' && (JSON.parse(line) as { reason?: string }).reason === reason)
}

async function untilTrue(f: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = performance.now() + timeoutMs
  while (!(await f())) {
    if (performance.now() > end) throw new Error('timed out')
    await clock.sleep(20)
  }
}

const memoryCount = async (): Promise<number> => (await call<{ topics: Array<{ count: number }> }>('GET', '/memory')).topics.reduce((n, t) => n + t.count, 0)

try {
  instar(['init', '--home', home, '--name', 'victim', '--agent', 'bench', '--priority', '100'])
  instar(['node', 'start', '--home', home, '--detach', '--listen', '/ip4/127.0.0.1/tcp/0'])
  victimPid = run().pid
  for (let i = 0; i < ENTRIES; i++) await call('POST', '/memory', { text: `entry ${i} of the victim`, topic: 'notes' })

  // A member: joined by invitation, holding the mesh key, synced like any other.
  const hostile = benchNode('mallory', false)
  await startBenchMesh(hostile)
  await hostile.mesh.join((await call<{ invitation: string }>('POST', '/mesh/invitations', {})).invitation)
  const db = openStateDb(join(dir, 'mallory.db'), 0)
  const state = createAgentState({ mesh: hostile.mesh, storage: createSqliteDocumentStorage(db), clock, logger: silentLogger })
  await state.start()
  await until(() => state.memory.size() >= ENTRIES)
  const victim = await until(() => hostile.mesh.peers().find((p) => !p.self && p.name === 'victim'))
  await untilTrue(async () => (await call<Leader>('GET', '/mesh/leader')).leader === victim.peerId)
  const key = hostile.mesh.meshKeys().at(-1)
  if (key === undefined) throw new Error('no mesh key')
  const meshId = hostile.mesh.status().meshId ?? ''
  // From here it only attacks: its own engine stopped (it would hold the one sync stream per
  // peer), one stream of ours whose credits are read and dropped.
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(state.documents.doc('memory')))
  const someId = state.memory.ids()[Math.floor(ENTRIES / 2)] ?? ''
  state.stop()
  const link = await openSyncLink(() => hostile.mesh.openStream(victim.peerId, SYNC_PROTOCOL), clock)
  if (link === null) throw new Error('could not open a sync stream to the victim')
  const send = async (frame: Uint8Array): Promise<void> => {
    if (!(await link.write([prefixed(frame)]))) throw new Error('the victim closed the sync stream')
  }

  reportLatency('baseline', await sample(WINDOW_MS))

  const attacks: Array<[string, Uint8Array, string]> = [
    ['text_inserts', concurrentInserts(itemOf(doc, 'entries', someId), INSERTS, 'text'), 'schema'],
    ['map_entry_inserts', concurrentInserts(itemOf(doc, 'entries', someId), INSERTS, 'value'), 'too-costly'],
    ['key_flood', keyFlood('entries', someId, INSERTS), 'too-costly'],
  ]
  let nextMessageId = 1
  /** Sealed, and chunked as a member's engine sends it when it is over one frame. */
  const sendUpdate = async (update: Uint8Array): Promise<void> => {
    const sealed = sealUpdate(key, meshId, 'memory', update)
    const id = nextMessageId++
    for (let i = 0; i < syncFrameCount('memory', sealed.length); i++) await send(encodeSyncMessageFrame({ type: 'update', doc: 'memory', sealed }, id, i))
  }
  for (const [variant, update, reason] of attacks) {
    const before = await call<Leader>('GET', '/mesh/leader')
    report(NAME, `${variant}_update_bytes`, update.length, 'B')
    await sendUpdate(update)
    reportLatency(`during_${variant}`, await sample(WINDOW_MS))
    const after = await call<Leader>('GET', '/mesh/leader')
    report(NAME, `${variant}_lease_kept`, after.leader === victim.peerId && after.term === before.term ? 1 : 0, 'bool')
    report(NAME, `${variant}_refused_${reason.replace('-', '_')}`, refusedAs(reason) ? 1 : 0, 'bool')
  }

  // Legitimate and large: 100,000 model-shaped entries written on another machine in
  // transactions of LEGIT_CHUNK entries each, sent by that machine's own sync engine (chunked,
  // under the receiver's credits), each applied in slices.
  const big = new Y.Doc()
  const entries = big.getMap('entries')
  const chunks: Uint8Array[] = []
  big.on('update', (u: Uint8Array) => chunks.push(u))
  for (let from = 0; from < LEGIT_ENTRIES; from += LEGIT_CHUNK) {
    big.transact(() => {
      for (let i = from; i < Math.min(LEGIT_ENTRIES, from + LEGIT_CHUNK); i++) {
        entries.set(`legit${i.toString(16).padStart(28, '0')}`, { topic: 'bulk', text: `bulk entry ${i}`, tags: [], author: 'server', createdAt: i, updatedAt: i })
      }
    })
  }
  // Three refused updates back the sender off (30 s at first): the honest engine waits it out.
  link.abort()
  await untilTrue(async () => ((await call<{ peers: Array<{ peerId: string; sync: { backoff: unknown } | null }> }>('GET', '/mesh/status')).peers.find((p) => p.peerId === hostile.mesh.peerId)?.sync?.backoff ?? null) === null, 120_000)
  const honest = createAgentState({ mesh: hostile.mesh, storage: createSqliteDocumentStorage(db), clock, logger: silentLogger })
  await honest.start()
  report(NAME, `legit_${LEGIT_ENTRIES}_entries_update_bytes`, chunks.reduce((n, c) => n + c.length, 0), 'B')
  const target = (await memoryCount()) + LEGIT_ENTRIES
  const before = await call<Leader>('GET', '/mesh/leader')
  const t0 = performance.now()
  for (const chunk of chunks) Y.applyUpdate(honest.documents.doc('memory'), chunk)
  let checkedAt = 0
  let applied = false
  const during = await sample(600_000, async () => {
    if (performance.now() - checkedAt < 250) return false
    checkedAt = performance.now()
    applied = (await memoryCount()) >= target
    return applied
  })
  report(NAME, `legit_${LEGIT_ENTRIES}_entries_applied_after`, applied ? performance.now() - t0 : Number.NaN, 'ms')
  reportLatency(`during_legit_${LEGIT_ENTRIES}_entries`, during)
  const after = await call<Leader>('GET', '/mesh/leader')
  report(NAME, `legit_${LEGIT_ENTRIES}_entries_lease_kept`, after.leader === victim.peerId && after.term === before.term ? 1 : 0, 'bool')

  honest.stop()
  db.close()
  await hostile.mesh.stop()
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
