/**
 * Victim nodes for the hostile suites: the real daemon (node/daemon.ts startNode, with its
 * real HTTP API, state.db, keys and wiring) run in this process with a recording logger, or a
 * real `instar node start` process whose JSON log is read back. Either way the test talks to
 * it through its HTTP API and reads what it logged as {level, code, fields}, never text.
 *
 * What it holds on disk is read through a read-only SQLite connection while it runs: the
 * sealed documents opened with the mesh key of its home, and the roster it stored.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { onTestFinished } from 'vitest'
import * as Y from 'yjs'
import { DOC_NAMES, createSqliteDocumentStorage, type DocName } from '../../crdt/index.js'
import { createDocumentStore } from '../../crdt/document-store.js'
import type { MeshKey } from '../../identity/index.js'
import { createRoster } from '../../mesh/roster.js'
import { connectApi, type ApiClient } from '../../node/api-client.js'
import { startNode, type RunningNode } from '../../node/daemon.js'
import { initHome, loadHome } from '../../node/home.js'
import type { Logger as NodeLogger } from '../../node/logger.js'
import { homePaths } from '../../node/paths.js'
import { processAlive } from '../../node/run-state.js'
import { createSystemClock } from '../../runtime/index.js'
import { cleanupNodeOnFinish, lastJson, runInstar } from './cli.js'
import { editConfig } from './homes.js'
import { recordingLogger, type LoggedLine } from './recording-logger.js'
import { tempDir } from './temp-dir.js'

export type VictimKind = 'in-process' | 'process'

export interface Victim {
  name: string
  home: string
  kind: VictimKind
  api: ApiClient
  peerId: string
  /** Warn and error lines logged so far, in order. */
  lines(): LoggedLine[]
  /** Every line logged so far, debug and info included (to say what happened when a check fails). */
  allLines(): LoggedLine[]
  /** The process (or, in process, the daemon) is still running. */
  alive(): boolean
}

export interface VictimSpec {
  name: string
  /** Founds a new mesh for this agent. */
  agent?: string
  priority?: number
  kind?: VictimKind
}

const FAKE_CLAUDE = fileURLToPath(new URL('./fake-claude.mjs', import.meta.url))
const warnOrError = (l: LoggedLine): boolean => l.level === 'warn' || l.level === 'error'
const PINO_LEVELS: Record<number, LoggedLine['level']> = { 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'error' }

export async function startVictim(spec: VictimSpec): Promise<Victim> {
  const home = join(tempDir('instar-victim-'), spec.name)
  await initHome({ home, name: spec.name, ...(spec.agent === undefined ? {} : { agent: spec.agent }), ...(spec.priority === undefined ? {} : { priority: spec.priority }) })
  // Its sessions run the stand-in CLI: a machine without `claude` warns at start, which no attack explains.
  editConfig(home, (config) => ({ ...config, sessions: { command: FAKE_CLAUDE } }))
  const kind = spec.kind ?? 'in-process'
  if (kind === 'process') {
    cleanupNodeOnFinish(home)
    const started = await runInstar(['node', 'start', '--home', home, '--detach', '--json', '--listen', '/ip4/127.0.0.1/tcp/0'])
    if (started.code !== 0) throw new Error(`instar node start failed: ${started.stderr}`)
    const { pid, peerId } = lastJson<{ pid: number; peerId: string }>(started.stdout)
    return { name: spec.name, home, kind, api: connectApi(homePaths(home)), peerId, lines: () => processLines(home).filter(warnOrError), allLines: () => processLines(home), alive: () => processAlive(pid) }
  }
  const logger = recordingLogger()
  // The daemon takes pino's Logger; it calls only the four methods of our Logger port.
  const running: RunningNode = await startNode({ clock: createSystemClock(), logger: logger as unknown as NodeLogger }, { home, listen: ['/ip4/127.0.0.1/tcp/0'], apiPort: 0 })
  let stopped = false
  void running.stopped.then(() => {
    stopped = true
  })
  onTestFinished(() => running.stop())
  return {
    name: spec.name,
    home,
    kind,
    api: connectApi(homePaths(home)),
    peerId: running.status().peerId,
    lines: () => logger.lines.filter(warnOrError),
    allLines: () => [...logger.lines],
    alive: () => !stopped,
  }
}

function processLines(home: string): LoggedLine[] {
  let text = ''
  try {
    text = readFileSync(join(home, 'logs', 'node.log'), 'utf8')
  } catch {
    return []
  }
  const out: LoggedLine[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    let entry: Record<string, unknown>
    try {
      entry = JSON.parse(line) as Record<string, unknown>
    } catch {
      continue // a line being written
    }
    out.push({ level: PINO_LEVELS[Number(entry.level)] ?? 'info', code: entry.code, fields: entry })
  }
  return out
}

/** Joins `victim` to the mesh of `inviter` through their APIs. */
export async function joinVictim(inviter: Victim, victim: Victim): Promise<void> {
  const { invitation } = await inviter.api.post<{ invitation: string }>('/mesh/invitations', {})
  await victim.api.post('/mesh/join', { invitation })
}

/** An invitation of `inviter`'s, as a member or as a witness. */
export async function invitationOf(inviter: Victim, witness = false): Promise<string> {
  return (await inviter.api.post<{ invitation: string }>('/mesh/invitations', witness ? { witness: true } : {})).invitation
}

export interface LeaderView {
  leader: string | null
  term: number
  role: string
  self: string
  leaseExpiresAt: string | null
}

export const leaderOf = (victim: Victim): Promise<LeaderView> => victim.api.get<LeaderView>('/mesh/leader')

/** A root of a document as data: its live map entries (records as JSON) and how many live items its sequence holds. */
export interface RootData {
  map: Record<string, unknown>
  sequence: number
}

/** What a document holds, root by root (only roots with something live in them). */
export type DocData = Record<string, RootData>

/** The mesh id and keys of a member's home (a member holds every epoch it was given). */
export function meshKeysOf(home: string): { meshId: string; keys: MeshKey[]; agentPublicKey: Uint8Array } {
  const loaded = loadHome(home)
  if (loaded.agent === null) throw new Error(`${home} holds no agent key`)
  const roster = readRoster(home, loaded.agent.publicKey)
  return { meshId: roster.meshId, keys: loaded.meshKeys, agentPublicKey: loaded.agent.publicKey }
}

function readOnly<T>(home: string, fn: (db: Database.Database) => T): T {
  const db = new Database(homePaths(home).stateDb, { readonly: true, fileMustExist: true })
  try {
    return fn(db)
  } finally {
    db.close()
  }
}

/** Every document as stored in `home`'s state.db, opened with `keys`; rows that fail to open are counted. */
export function readDocuments(home: string, meshId: string, keys: MeshKey[]): { docs: Record<DocName, DocData>; refusedRows: number } {
  return readOnly(home, (db) => {
    // compactAfter past any log: load never writes (the connection is read-only).
    const store = createDocumentStore({ storage: createSqliteDocumentStorage({ db, durability: 'power-loss' }), meshId, currentKey: () => keys.at(-1) as MeshKey, keyFor: (epoch) => keys.find((k) => k.epoch === epoch) }, { compactAfter: Number.MAX_SAFE_INTEGER })
    let refusedRows = 0
    const docs = {} as Record<DocName, DocData>
    for (const name of DOC_NAMES) {
      const loaded = store.load(name)
      refusedRows += loaded.refused.length
      const doc = new Y.Doc()
      doc.transact(() => {
        for (const update of loaded.updates) Y.applyUpdate(doc, update)
      })
      docs[name] = docData(doc)
      doc.destroy()
    }
    return { docs, refusedRows }
  })
}

/** A document's roots as data, whatever types they were given (a hostile update may make a root a sequence). */
export function docData(doc: Y.Doc): DocData {
  const out: DocData = {}
  for (const [name, type] of doc.share) {
    const map: Record<string, unknown> = {}
    for (const [key, item] of type._map) {
      if (item.deleted) continue
      const value = item.content.getContent().at(-1) as unknown
      map[key] = value instanceof Y.AbstractType ? value.toJSON() : value
    }
    let sequence = 0
    for (let item = type._start; item !== null; item = item.right) if (!item.deleted) sequence += item.length
    if (Object.keys(map).length > 0 || sequence > 0) out[name] = { map, sequence }
  }
  return out
}

export interface RosterData {
  meshId: string
  members: string[]
  witnesses: string[]
  removed: string[]
  latestEpoch: number
  genesis: string | undefined
  events: string[]
  /** Keys of the address records it holds (peer ids) and of the mesh key records (epochs). */
  addressKeys: string[]
  keyEpochs: string[]
}

/** The roster `home` stored, as its node would load it; `removed` lists which of `candidates` were removed. */
export function readRoster(home: string, agentPublicKey: Uint8Array, candidates: string[] = []): RosterData {
  const { rows, genesis } = readOnly(home, (db) => ({
    rows: (db.prepare('SELECT data FROM roster_updates ORDER BY seq').all() as Array<{ data: Buffer }>).map((r) => new Uint8Array(r.data)),
    genesis: (db.prepare("SELECT value FROM node_meta WHERE key = 'roster.genesis'").get() as { value: string } | undefined)?.value,
  }))
  const roster = createRoster({ agentPublicKey, store: { load: () => rows, append: () => undefined, ...(genesis === undefined ? {} : { loadGenesis: () => genesis }) } })
  try {
    return {
      meshId: roster.meshId,
      members: roster.members().map((m) => m.peerId).sort(),
      witnesses: roster.witnesses().map((m) => m.peerId).sort(),
      removed: candidates.filter((p) => roster.wasRemoved(p)).sort(),
      latestEpoch: roster.latestEpoch(),
      genesis: roster.genesis(),
      events: [...roster.doc.getMap('events').keys()].sort(),
      addressKeys: [...roster.doc.getMap('addresses').keys()].sort(),
      keyEpochs: [...roster.doc.getMap('keys').keys()].sort(),
    }
  } finally {
    roster.destroy()
  }
}
