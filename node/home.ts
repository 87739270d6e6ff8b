/**
 * The data directory: `instar init` lays it out, the daemon and the CLI read it. Keys go
 * through the identity keystore (0600 files in a 0700 folder); the API token is a 0600 file.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import {
  fingerprint,
  generateMeshKey,
  generateSeed,
  keyPairFromSeed,
  loadMeshKeys,
  loadSeed,
  saveMeshKeys,
  saveSeed,
  toHex,
  type KeyFileWarning,
  type KeyPair,
  type MeshKey,
} from '../identity/index.js'
import { peerIdFromSeed } from '../mesh/index.js'
import { loadConfig, parseConfig, writeConfig, type Config } from './config.js'
import { AgentKeyMismatchError, HomeAlreadyInitializedError, HomeNotInitializedError, NodeAlreadyRunningError, UsageError } from './errors.js'
import { readToken } from './api-token.js'
import { homePaths, type HomePaths } from './paths.js'
import { liveLockHolder } from './run-state.js'

export interface InitOptions {
  home: string
  agent?: string
  name?: string
  priority?: number
  force?: boolean
  /** Lay out a witness's data directory: a machine key and no agent. */
  witness?: boolean
}

export interface InitResult {
  home: string
  machine: { name: string; fingerprint: string; peerId: string }
  agent: { name: string; publicKey: string } | null
  /** Things the user should know (keys replaced with --force). */
  warnings: string[]
}

/** A machine name from the host name, cut to what config.json allows. */
export function defaultMachineName(): string {
  const cleaned = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64)
  return cleaned === '' ? 'machine' : cleaned
}

export async function initHome(options: InitOptions): Promise<InitResult> {
  const paths = homePaths(options.home)
  const warnings: string[] = []
  // A running node always holds the lock (from before it writes node.json until after it removes it).
  const lockHolder = liveLockHolder(paths)
  if (lockHolder !== null) throw new NodeAlreadyRunningError(paths.home, lockHolder)

  const existing = [paths.machineKey, paths.agentKey, paths.config].find((p) => existsSync(p))
  if (existing !== undefined && options.force !== true) {
    throw new HomeAlreadyInitializedError(paths.home, existing.slice(paths.home.length + 1))
  }
  if (existing !== undefined) {
    warnings.push(`replacing the keys in ${paths.home}: this machine gets a new identity and must pair again (its old state.db goes too)`)
  }

  const machineName = options.name ?? defaultMachineName()
  const agentName = options.agent
  if (options.witness === true && agentName !== undefined) throw new UsageError('a witness holds no agent: leave out --agent')
  // Validate names and priority before any file is touched.
  const draft: Config = {
    version: 1,
    role: options.witness === true ? 'witness' : 'node',
    machine: { name: machineName, priority: options.priority ?? 0 },
    agent: agentName === undefined ? null : { name: agentName, publicKey: '0'.repeat(64) },
    api: { port: 0 },
    listen: ['/ip4/0.0.0.0/tcp/0'],
    mdns: false,
    storage: { durability: 'power-loss' },
    sessions: { command: 'claude', args: [], maxConcurrent: 2, warmTtl: '10m', timeout: '10m', contextBudget: 20_000 },
    channels: { retentionDays: 7 },
    log: { level: 'info' },
  }
  parseConfig(draft, 'the --agent/--name/--priority options')

  mkdirSync(paths.home, { recursive: true, mode: 0o700 })
  chmodSync(paths.home, 0o700)
  mkdirSync(paths.keysDir, { recursive: true, mode: 0o700 })
  chmodSync(paths.keysDir, 0o700)

  const overwrite = options.force === true
  const machineSeed = generateSeed()
  const machine = keyPairFromSeed(machineSeed)
  saveSeed(paths.machineKey, 'machine', machineSeed, { overwrite })

  let agent: InitResult['agent'] = null
  if (agentName !== undefined) {
    const agentSeed = generateSeed()
    const agentKeys = keyPairFromSeed(agentSeed)
    saveSeed(paths.agentKey, 'agent', agentSeed, { overwrite })
    saveMeshKeys(paths.meshKeys, [generateMeshKey(1)], { overwrite })
    agent = { name: agentName, publicKey: toHex(agentKeys.publicKey) }
  } else {
    // Without --agent this machine waits to join a mesh: it holds no agent key of an old one.
    rmSync(paths.agentKey, { force: true })
    rmSync(paths.meshKeys, { force: true })
  }

  // Invitations of the old identity could never be used: their secrets derive from the old machine key.
  rmSync(paths.invitations, { force: true })
  // Nor can the old state: it is sealed with mesh keys this machine no longer holds, and its
  // roster pins the old mesh's genesis, so that pairing into any mesh would be refused.
  if (overwrite) for (const file of [paths.stateDb, `${paths.stateDb}-wal`, `${paths.stateDb}-shm`]) rmSync(file, { force: true })
  writeConfig(paths.config, { ...draft, agent })
  writeSecretFile(paths.apiToken, randomBytes(32).toString('hex'))

  const peerId = await peerIdFromSeed(machineSeed)
  return {
    home: paths.home,
    machine: { name: machineName, fingerprint: fingerprint(machine.publicKey), peerId: peerId.toString() },
    agent,
    warnings,
  }
}

function writeSecretFile(path: string, value: string): void {
  writeFileSync(path, `${value}\n`, { mode: 0o600 })
  chmodSync(path, 0o600)
}

export interface LoadedHome {
  paths: HomePaths
  config: Config
  machine: KeyPair
  agent: KeyPair | null
  meshKeys: MeshKey[]
  token: string
  warnings: KeyFileWarning[]
}

/** Reads everything a node needs from its data directory, refusing anything damaged. */
export function loadHome(home: string): LoadedHome {
  const paths = homePaths(home)
  if (!existsSync(paths.config) && !existsSync(paths.machineKey)) throw new HomeNotInitializedError(paths.home)
  const config = loadConfig(paths.config)
  const warnings: KeyFileWarning[] = []
  const machineSeed = loadSeed(paths.machineKey, 'machine')
  warnings.push(...machineSeed.warnings)
  let agent: KeyPair | null = null
  let meshKeys: MeshKey[] = []
  // A witness knows its agent by public key only (config.json): it holds no agent or mesh key.
  if (config.agent !== null && config.role === 'node') {
    const agentSeed = loadSeed(paths.agentKey, 'agent')
    warnings.push(...agentSeed.warnings)
    agent = keyPairFromSeed(agentSeed.seed)
    if (toHex(agent.publicKey) !== config.agent.publicKey) {
      throw new AgentKeyMismatchError(paths.agentKey, paths.config)
    }
    const mesh = loadMeshKeys(paths.meshKeys)
    warnings.push(...mesh.warnings)
    meshKeys = mesh.keys
  }
  return { paths, config, machine: keyPairFromSeed(machineSeed.seed), agent, meshKeys, token: readToken(paths), warnings }
}
