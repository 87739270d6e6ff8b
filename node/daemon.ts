/**
 * The node daemon: the composition root that wires keys, the state database, the libp2p
 * host and the local API together, writes run/node.json once it answers, and takes it all
 * down again in reverse order on stop.
 */
import { fingerprint, fromHex, keyPairFromSeed, saveMeshKeys, saveSeed, toHex } from '../identity/index.js'
import { createAgentState, createSqliteDocumentStorage, createSqliteRosterStore, createSqliteTermStore, openStateDb, type AgentState, type StateDb } from '../crdt/index.js'
import { createMesh, MeshNotMemberError, type Mesh, type MeshDeps, type MeshMembership, type StateRepair } from '../mesh/index.js'
import { type Clock } from '../runtime/index.js'
import { registerMeshRoutes } from './api-mesh-routes.js'
import { registerStateRoutes } from './api-state-routes.js'
import { registerChannelRoutes } from './api-channel-routes.js'
import { startChannelsRuntime, type ChannelsRuntime } from './channels-runtime.js'
import { recordOnlyHandler, type ConversationHandler } from '../channels/index.js'
import { createNodeAgentHandler, writeMcpConfig } from './agent-handler.js'
import { registerFaultRoutes } from './api-fault-routes.js'
import type { FastifyInstance } from 'fastify'
import { codeOf } from './errors.js'
import { boundPorts, parseRememberedPorts, withRememberedPorts } from './listen-ports.js'
import { createInvitationFile } from './invitation-file.js'
import { startLeaseJournal } from './lease-journal.js'
import { join } from 'node:path'
import { durationMs, writeConfig } from './config.js'
import { createClaudeRunner, type AgentRunner, type ClaudeVersion } from '../sessions/index.js'
import { createApiServer, type ApiServer, type NodeStatus } from './api-server.js'
import { loadHome } from './home.js'
import type { Logger } from './logger.js'
import { acquireLock, removeRunInfo, writeRunInfo, type Lock } from './run-state.js'
import { VERSION } from './version.js'

/** state.db meta key: the ports the configured port-0 listen addresses got last time. */
const LISTEN_PORTS_KEY = 'listen.ports'

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
  /** Serves POST /debug/partition for the fault suite (INSTAR_FAULT_HOOKS=1); never in normal use. */
  faultHooks?: boolean
  pid?: number
  /**
   * How to run this CLI (the program and its first arguments, as `instar`): sessions get
   * `instar mcp --home HOME` in their --mcp-config with it. Without it, sessions have no MCP server.
   */
  cli?: string[]
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
  let mesh: Mesh
  let api: ApiServer
  let stopping: Promise<void> | null = null
  let repairs: StateRepair[] = []
  let resolveStopped!: () => void
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve
  })

  const machineFingerprint = fingerprint(home.machine.publicKey)
  // Sessions run on members only; each machine has its own claude install and login.
  const sessionsConfig = home.config.sessions
  let runner: AgentRunner | null = null
  let claude: ClaudeVersion | null = null
  // Settles once claude was looked for (a witness runs no sessions and no conversations).
  let claudeChecked!: () => void
  const claudeKnown = new Promise<void>((resolve) => (claudeChecked = resolve))
  /**
   * The agent answers conversations when claude is usable here; otherwise messages are only
   * recorded (a person answers with instar channels send) and node status says why.
   */
  const conversationHandler = (state: AgentState): ConversationHandler => {
    let agent: ConversationHandler | null = null
    return {
      handle: async (message, ctx) => {
        await claudeKnown
        if (runner === null || claude?.installed !== true) return recordOnlyHandler.handle(message, ctx)
        agent ??= createNodeAgentHandler({ runner, state, logger, machine: home.config.machine.name, agentName: home.config.agent?.name ?? 'the agent', contextBudget: sessionsConfig.contextBudget })
        return agent.handle(message, ctx)
      },
    }
  }
  const sessionsStatus = (): NodeStatus['sessions'] =>
    runner === null
      ? null
      : {
          command: sessionsConfig.command,
          model: sessionsConfig.model ?? null,
          permissionMode: sessionsConfig.permissionMode ?? null,
          maxConcurrent: sessionsConfig.maxConcurrent,
          warmTtlMs: durationMs(sessionsConfig.warmTtl),
          timeoutMs: durationMs(sessionsConfig.timeout),
          claude,
          running: runner.status().running,
          warm: runner.status().warm,
          queued: runner.status().queued,
        }
  const status = (): NodeStatus => ({
    running: true,
    pid,
    peerId: mesh.peerId,
    agent: mesh.status().agent,
    role: home.config.role,
    machine: { name: home.config.machine.name, fingerprint: machineFingerprint, priority: home.config.machine.priority },
    addresses: mesh.host.addresses(),
    api: api.url(),
    uptimeMs: clock.now() - startedAt,
    version: VERSION,
    repairs: [...repairs],
    sessions: sessionsStatus(),
  })

  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'node stopping')
      // Graceful: a leader hands over at once instead of making the others wait a timeout.
      await mesh.handOff().catch((err: unknown) => logger.warn({ code: (err as { code?: string }).code ?? 'ELECTION_HANDOFF_FAILED' }, 'leadership hand-off failed'))
      await rollback()
      logger.info({}, 'node stopped')
      resolveStopped()
    })()
    return stopping
  }

  let agentState: AgentState | null = null
  let channelsRuntime: ChannelsRuntime | null = null
  let agentStarted: Promise<void> | null = null
  // The agent's documents need mesh keys: at start for a member, right after joining otherwise.
  const witness = home.config.role === 'witness'
  // The load begins once the API listens, so that a large state does not hold back API-ready.
  let apiListening!: () => void
  const listening = new Promise<void>((resolve) => (apiListening = resolve))
  const startAgentState = (): Promise<void> => {
    if (witness || agentState !== null || !mesh.status().member) return agentStarted ?? Promise.resolve()
    const created = createAgentState({ mesh, storage: createSqliteDocumentStorage(state), clock, logger })
    agentState = created
    // No entry count here: counting would decode every memory entry, which start leaves to first use.
    agentStarted = listening
      .then(() => created.start())
      .then(() => {
        logger.info({}, 'agent state loaded')
        if (stopping === null) channelsRuntime = startChannelsRuntime({ mesh, state: created, clock, logger, handler: conversationHandler(created), retentionMs: home.config.channels.retentionDays * 86_400_000 })
      })
    return agentStarted
  }
  /** The agent state once loaded: a request made while it loads waits for the load. */
  const requireAgentState = async (): Promise<AgentState> => {
    if (witness) throw new MeshNotMemberError( 'this is a witness: it votes in leader elections and holds none of the agent\'s state')
    if (agentState === null || agentStarted === null) {
      throw new MeshNotMemberError( 'this machine is not in a mesh yet: join one with "instar mesh pair <invitation>"')
    }
    const loading = agentState
    await agentStarted
    return loading
  }

  // Last resort: a promise that rejects with no handler would otherwise end the process
  // (Node's default since 15). Everything in mesh/ handles its own; this logs a miss with its
  // code and carries on, since a rejection leaves no half-run synchronous code behind: the
  // async function that failed has stopped at an await, everything else is as it was.
  // uncaughtException is NOT handled so: a synchronous throw that reached the event loop
  // stopped code midway (a state machine between two writes), and Node documents that
  // resuming after it is unsafe. Timers (the Clock), stream handlers and event listeners
  // catch their own throws, so one that still gets there is a bug that should end the process.
  const onUnhandledRejection = (reason: unknown): void => {
    logger.error({ code: codeOf(reason), err: reason }, 'a promise rejected with no handler; the node carries on')
  }
  process.on('unhandledRejection', onUnhandledRejection)
  undo.push(() => void process.off('unhandledRejection', onUnhandledRejection))

  try {
    lock = acquireLock(home.paths, pid)
    undo.push(() => lock.release())

    state = openStateDb(home.paths.stateDb, clock.now(), { durability: home.config.storage.durability })
    undo.push(() => state.close())
    state.setMeta('machine.publicKey', toHex(home.machine.publicKey))

    // Repaired here, before the election reads it (see crdt/term-store.ts): a term a hostile
    // frame left in state.db must not kill the node on every start.
    const termStore = createSqliteTermStore(state)
    repairs = termStore.repairs()
    for (const repair of repairs) {
      logger.warn({ ...repair }, `repaired ${repair.what} in state.db: found ${repair.found}, out of range; now ${repair.repairedTo}, with no vote`)
    }

    const agentConfig = home.config.agent
    const membership: MeshMembership | null =
      agentConfig === null
        ? null
        : witness
          ? { role: 'witness', agentName: agentConfig.name, agentPublicKey: fromHex(agentConfig.publicKey) }
          : home.agent === null
            ? null
            : { agentName: agentConfig.name, agentSeed: home.agent.seed, meshKeys: home.meshKeys }
    const meshDeps: MeshDeps = {
      clock,
      logger,
      machineSeed: home.machine.seed,
      machineName: home.config.machine.name,
      rosterStore: createSqliteRosterStore(state),
      membership,
      persistJoin(joined) {
        if (joined.role === 'witness') {
          home.config = { ...home.config, agent: { name: joined.agentName, publicKey: toHex(joined.agentPublicKey) } }
          writeConfig(home.paths.config, home.config)
          return
        }
        // Keys first, config last: a crash in between leaves a machine that still waits to join.
        const agentPublicKey = keyPairFromSeed(joined.agentSeed).publicKey
        saveSeed(home.paths.agentKey, 'agent', joined.agentSeed, { overwrite: true })
        saveMeshKeys(home.paths.meshKeys, joined.meshKeys, { overwrite: true })
        home.config = { ...home.config, agent: { name: joined.agentName, publicKey: toHex(agentPublicKey) } }
        writeConfig(home.paths.config, home.config)
      },
      persistMeshKeys(keys) {
        saveMeshKeys(home.paths.meshKeys, keys, { overwrite: true })
      },
      termStore,
      invitationStore: createInvitationFile(home.paths.invitations, logger),
    }
    const configured = options.listen ?? home.config.listen
    // Ask for last run's ports again (see listen-ports.ts), unless --listen says otherwise.
    const listen = options.listen === undefined ? withRememberedPorts(configured, parseRememberedPorts(state.getMeta(LISTEN_PORTS_KEY))) : configured
    const openMesh = async (addresses: string[]): Promise<{ mesh: Mesh; stopJournal: () => void }> => {
      const opened = await createMesh(meshDeps, {
        listen: addresses,
        agentVersion: `instar/${VERSION}`,
        mdns: home.config.mdns,
        priority: home.config.machine.priority,
        role: witness ? 'witness' : 'member',
      })
      // Subscribed before start: a lone machine takes the lease as it starts.
      const stopJournal = startLeaseJournal(
        { mesh: opened, clock, path: join(home.paths.logsDir, 'lease.log') },
        { renewals: options.faultHooks === true },
      )
      try {
        await opened.start()
      } catch (err) {
        stopJournal()
        await opened.stop().catch((stopErr: unknown) => logger.debug({ code: codeOf(stopErr) }, 'the mesh did not stop cleanly after a failed start'))
        throw err
      }
      return { mesh: opened, stopJournal }
    }
    let opened: { mesh: Mesh; stopJournal: () => void }
    try {
      opened = await openMesh(listen)
    } catch (err) {
      if (listen.join('\n') === configured.join('\n') || codeOf(err) !== 'MESH_LISTEN_FAILED') throw err
      logger.info({ code: 'MESH_LISTEN_FAILED', listen }, 'a port of the last run is taken; listening on the configured addresses')
      opened = await openMesh(configured)
    }
    mesh = opened.mesh
    undo.push(() => opened.stopJournal())
    undo.push(() => mesh.stop())
    if (options.listen === undefined) state.setMeta(LISTEN_PORTS_KEY, JSON.stringify(boundPorts(configured, mesh.host.addresses())))
    // Loads in slices once the API listens, and while it answers: /health and /node at once,
    // the state routes once the documents are loaded (requireAgentState).
    startAgentState().catch((err: unknown) => {
      // A stop while loading closes the documents under the load: that is no failure.
      if (stopping === null) logger.error({ code: codeOf(err), err }, 'the agent state failed to load')
    })
    undo.push(() => {
      channelsRuntime?.stop()
      channelsRuntime = null
      agentState?.stop()
      agentState = null
      agentStarted = null
    })

    if (!witness) {
      const created = createClaudeRunner(
        { clock, logger },
        {
          command: sessionsConfig.command,
          settings: {
            model: sessionsConfig.model,
            permissionMode: sessionsConfig.permissionMode,
            maxBudgetUsd: sessionsConfig.maxBudgetUsd,
            extraArgs: sessionsConfig.args,
            mcpConfigPath: options.cli === undefined ? undefined : writeMcpConfig(home.paths, options.cli),
          },
          logDir: join(home.paths.logsDir, 'sessions'),
          maxConcurrent: sessionsConfig.maxConcurrent,
          warmTtlMs: durationMs(sessionsConfig.warmTtl),
          timeoutMs: durationMs(sessionsConfig.timeout),
        },
      )
      runner = created
      undo.push(() => created.stop())
      // Checked once the API listens; a missing claude is a warning in the log and in node status, never a failed start.
      void listening.then(async () => {
        claude = await created.version().finally(claudeChecked)
        if (claude.installed) logger.info({ version: claude.version }, 'claude found')
        else logger.warn({ code: 'SESSION_NOT_INSTALLED', command: sessionsConfig.command, error: claude.error }, 'claude is not usable here: sessions cannot run on this machine')
      })
    }

    api = createApiServer(
      {
        token: home.token,
        logger,
        status,
        requestStop: (reason) => void stop(reason),
        routes: [
          (fastify) => registerMeshRoutes(fastify, mesh, { afterJoin: startAgentState, syncStatus: () => agentState?.sync.status() ?? {} }),
          (fastify) => registerStateRoutes(fastify, { state: requireAgentState, selfPeerId: () => mesh.peerId, now: () => clock.now() }),
          (fastify) => registerChannelRoutes(fastify, { state: requireAgentState, selfPeerId: () => mesh.peerId, now: () => clock.now() }),
          ...(options.faultHooks === true ? [(fastify: FastifyInstance) => registerFaultRoutes(fastify, mesh)] : []),
        ],
      },
      { port: options.apiPort ?? home.config.api.port, version: VERSION },
    )
    await api.start()
    undo.push(() => api.stop())
    apiListening()

    writeRunInfo(home.paths, {
      pid,
      api: api.url(),
      peerId: mesh.peerId,
      addresses: mesh.host.addresses(),
      startedAt,
      version: VERSION,
    })
    // Removed first on the way down, so the CLI never finds a node.json of a half-stopped node.
    undo.push(() => removeRunInfo(home.paths, pid))
  } catch (err) {
    await rollback()
    throw err
  }

  logger.info({ peerId: mesh.peerId, api: api.url(), addresses: mesh.host.addresses() }, 'node started')
  return { status, stopped, stop }
}
