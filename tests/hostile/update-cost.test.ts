/**
 * Issue 9, part 2: a member sends a validly sealed update of 60,000 concurrent inserts at one
 * position (after an entry of the victim's real memory document), over a real sync stream,
 * to a real `instar node start` process that leads the mesh. Before the fix it passed the
 * check against an empty scratch document and then blocked the victim's event loop for
 * minutes. Now the text version is refused by the schema and the map-entry version (the same
 * inserts with plain values, a shape the schema allows) by the cost estimate; either way the
 * victim keeps answering, keeps its lease, keeps its data, and logs the refusal with its code.
 * (Durations are measured in `npm run bench -- hostile-update`, not here.)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { concurrentInserts, itemOf } from '../../bench/hostile-updates.js'
import { SYNC_PROTOCOL, encodeSyncMessage, sealUpdate } from '../../crdt/index.js'
import { chunkDataBytes } from '../../crdt/sync-protocol.js'
import { MAX_SYNC_FRAME } from '../../crdt/sync-protocol.js'
import { frameStream } from '../../mesh/index.js'
import { connectApi, type ApiClient } from '../../node/api-client.js'
import { homePaths } from '../../node/paths.js'
import { withState } from '../support/agent-state.js'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { startTestNode } from '../support/mesh-nodes.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const ENTRIES = 300
const INSERTS = 60_000

interface Leader {
  leader: string | null
  term: number
  role: string
}

interface Entry {
  id: string
  text: string
}

/** The victim, a real node process that leads, with ENTRIES memory entries; and a hostile member joined to it. */
async function victimAndHostileMember() {
  const home = join(tempDir(), 'victim')
  const init = await runInstar(['init', '--home', home, '--name', 'victim', '--agent', 'kira', '--priority', '100'])
  expect(init.code, init.stderr).toBe(0)
  cleanupNodeOnFinish(home)
  const started = await runInstar(['node', 'start', '--home', home, '--detach', '--listen', '/ip4/127.0.0.1/tcp/0'])
  expect(started.code, started.stderr).toBe(0)
  const api = connectApi(homePaths(home))
  for (let i = 0; i < ENTRIES; i++) await api.post('/memory', { text: `entry ${i}`, topic: 'notes' })

  const made = await runInstar(['mesh', 'pair', '--home', home, '--json'])
  expect(made.code, made.stderr).toBe(0)
  const hostile = await startTestNode({ name: 'mallory' })
  await hostile.mesh.join(lastJson<{ invitation: string }>(made.stdout).invitation)
  // It syncs like any member first, so it knows the items of the victim's document.
  const held = await withState(hostile)
  await waitFor(() => held.state.memory.size() === ENTRIES, { timeoutMs: 30_000, what: 'the hostile member to hold the victim memory' })
  const victimPeer = hostile.mesh.peers().find((p) => !p.self && p.name === 'victim')
  if (victimPeer === undefined) throw new Error('no victim peer')
  await waitFor(async () => (await api.get<Leader>('/mesh/leader')).leader === victimPeer.peerId, { timeoutMs: 30_000, what: 'the victim to lead' })
  return { home, api, hostile, held, victimPeerId: victimPeer.peerId }
}

async function entries(api: ApiClient): Promise<Entry[]> {
  return (await api.get<{ entries: Entry[] }>('/memory?topic=notes')).entries
}

/** Refusals the victim logged, as {code, reason} (its log is JSON lines). */
function refusalsLogged(home: string): Array<{ code: string; reason: string }> {
  let text = ''
  try {
    text = readFileSync(join(home, 'logs', 'node.log'), 'utf8')
  } catch {
    return []
  }
  const out: Array<{ code: string; reason: string }> = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    const entry = JSON.parse(line) as { code?: unknown; reason?: unknown }
    if (entry.code === 'SYNC_UPDATE_REJECTED' && typeof entry.reason === 'string') out.push({ code: entry.code, reason: entry.reason })
  }
  return out
}

async function attack(variant: 'text' | 'value', expectedReason: string): Promise<void> {
  const { home, api, hostile, held, victimPeerId } = await victimAndHostileMember()
  const leaderBefore = await api.get<Leader>('/mesh/leader')
  const dataBefore = await entries(api)
  const target = dataBefore[100] as Entry

  const inserts = concurrentInserts(itemOf(held.state.documents.doc('memory'), 'entries', target.id), INSERTS, variant)
  const key = hostile.mesh.meshKeys().at(-1)
  if (key === undefined) throw new Error('the hostile member holds no mesh key')
  const sealed = sealUpdate(key, hostile.mesh.status().meshId ?? '', 'memory', inserts)
  // The member's own sync engine steps aside (a new stream from a peer replaces its last one,
  // and the engine would open its own again over ours); it comes back for the good write below.
  held.state.stop()
  held.db.close()
  const frames = frameStream(await hostile.mesh.openStream(victimPeerId, SYNC_PROTOCOL), MAX_SYNC_FRAME)
  // Sent as protocol 2 sends what does not fit one frame: in chunks (well inside the credit window).
  const per = chunkDataBytes('memory')
  const count = Math.ceil(sealed.length / per)
  for (let index = 0; index < count; index++) {
    const data = sealed.subarray(index * per, (index + 1) * per)
    await frames.write(encodeSyncMessage({ type: 'chunk', doc: 'memory', of: 'update', id: 1, index, count, total: sealed.length, data }))
  }

  await waitFor(() => refusalsLogged(home).some((r) => r.reason === expectedReason), { timeoutMs: 60_000, what: `the victim to refuse the update as ${expectedReason}` })
  // Alive and answering, still the leader in the same term, its data as it was.
  expect((await api.get<{ machine: { name: string } }>('/node')).machine.name).toBe('victim')
  const leaderAfter = await api.get<Leader>('/mesh/leader')
  expect(leaderAfter).toMatchObject({ leader: victimPeerId, term: leaderBefore.term, role: 'leader' })
  expect(await entries(api)).toEqual(dataBefore)
  // And still in sync with the member: a legitimate write of it arrives.
  const again = await withState(hostile, held.dbPath)
  again.state.memory.add({ text: 'after the attack', topic: 'notes', author: hostile.mesh.peerId }, 1)
  await waitFor(async () => (await entries(api)).some((e) => e.text === 'after the attack'), { timeoutMs: 30_000, what: 'a later good write to arrive' })
  frames.abort(new Error('done'))
}

describe('a costly sealed update from a member', () => {
  it('refuses 60,000 concurrent text inserts after an entry as schema, and the leader keeps answering, its lease and its data', { timeout: 240_000 }, async () => {
    await attack('text', 'schema')
  })

  it('refuses the same inserts as map entries (a shape the schema allows) as too-costly, with the same guarantees', { timeout: 240_000 }, async () => {
    await attack('value', 'too-costly')
  })
})
