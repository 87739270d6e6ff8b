/**
 * The node daemon: the composition root that wires keys, the state database, the libp2p
 * host and the local API together, writes run/node.json once it answers, and takes it all
 * down again in reverse order on stop.
 */
import { fingerprint, toHex } from '../identity/index.js'
import { openStateDb, type StateDb } from '../crdt/index.js'
import { createMeshHost, type Clock, type MeshHost } from '../mesh/index.js'
import { createApiServer, type ApiServer, type NodeStatus } from './api-server.js'
import { loadHome } from './home.js'
import type { Logger } from './logger.js'
import { acquireLock, removeRunInfo, writeRunInfo, type Lock } from './run-state.js'
import { VERSION } from './version.js'

export interface StartNodeDeps {
  clock: Clock
  logger: Logger
}

export interface StartNodeOptions {
  home: string
  /** Overrides config.json's api.port. */
  apiPort?: number
  /** Overrides config.json's listen addresses. */
  listen?: string[]
  pid?: number
}

export interface RunningNode {
  readonly status: () => NodeStatus
  /** Resolves when the node has stopped, whoever stopped it. */
  readonly stopped: Promise<void>
  /** Graceful shutdown; idempotent. */
  stop(reason?: string): Promise<void>
}

export async function startNode(deps: StartNodeDeps, options: StartNodeOptions): Promise<RunningNode> {
  const { clock, logger } = deps
  const pid = options.pid ?? process.pid
  const startedAt = clock.now()
  const home = loadHome(options.home)
  for (const warning of home.warnings) logger.warn({ code: warning.code, path: warning.path }, warning.message)

  const undo: Array<() => Promise<void> | void> = []
  const rollback = async (): Promise<void> => {
    for (const step of undo.reverse()) {
      try {
        await step()
      } catch (err) {
        logger.error({ code: (err as { code?: string }).code ?? 'INTERNAL', err }, 'shutdown step failed')
      }
    }
  }

  let lock: Lock
  let state: StateDb
  let host: MeshHost
  let api: ApiServer
  let stopping: Promise<void> | null = null
  let resolveStopped!: () => void
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve
  })

  const machineFingerprint = fingerprint(home.machine.publicKey)
  const status = (): NodeStatus => ({
    running: true,
    pid,
    peerId: host.peerId.toString(),
    agent: home.config.agent === null ? null : { name: home.config.agent.name, publicKey: home.config.agent.publicKey },
    machine: { name: home.config.machine.name, fingerprint: machineFingerprint, priority: home.config.machine.priority },
    addresses: host.addresses(),
    api: api.url(),
    uptimeMs: clock.now() - startedAt,
    version: VERSION,
  })

  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'node stopping')
      await rollback()
      logger.info({}, 'node stopped')
      resolveStopped()
    })()
    return stopping
  }

  try {
    lock = acquireLock(home.paths, pid)
    undo.push(() => lock.release())

    state = openStateDb(home.paths.stateDb, clock.now())
    undo.push(() => state.close())
    state.setMeta('machine.publicKey', toHex(home.machine.publicKey))

    host = await createMeshHost(
      { seed: home.machine.seed },
      { listen: options.listen ?? home.config.listen, agentVersion: `instar/${VERSION}` },
    )
    await host.start()
    undo.push(() => host.stop())

    api = createApiServer(
      { token: home.token, logger, status, requestStop: (reason) => void stop(reason) },
      { port: options.apiPort ?? home.config.api.port, version: VERSION },
    )
    await api.start()
    undo.push(() => api.stop())

    writeRunInfo(home.paths, {
      pid,
      api: api.url(),
      peerId: host.peerId.toString(),
      addresses: host.addresses(),
      startedAt,
      version: VERSION,
    })
    // Removed first on the way down, so the CLI never finds a node.json of a half-stopped node.
    undo.push(() => removeRunInfo(home.paths, pid))
  } catch (err) {
    await rollback()
    throw err
  }

  logger.info({ peerId: host.peerId.toString(), api: api.url(), addresses: host.addresses() }, 'node started')
  return { status, stopped, stop }
}
