/** `instar node start|stop|status`: run the daemon in the foreground or detached, stop it, ask it how it is. */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { Option, type Command } from 'commander'
import { createSystemClock } from '../runtime/index.js'
import { connectApi, probeHealth } from './api-client.js'
import type { NodeStatus } from './api-server.js'
import { addCommonOptions, parseIntOption, type CommonOptions } from './cli-common.js'
import { createOutput, formatDuration } from './cli-output.js'
import { loadConfig } from './config.js'
import { codeOf, NodeAlreadyRunningError, NodeNotRunningError, NodeStartFailedError, NodeStopTimeoutError, NodeUnreachableError } from './errors.js'
import { openRotatingLog } from './log-files.js'
import { createLogger } from './logger.js'
import { homePaths, resolveHome } from './paths.js'
import { liveLockHolder, liveRunInfo, processAlive, readRunInfo } from './run-state.js'

export interface StartFlags extends CommonOptions {
  detach?: boolean
  apiPort?: string
  listen?: string[]
  /** Set by --detach on the background process: log to logs/node.log (rotated) instead of stderr. */
  logFile?: boolean
}

const clock = createSystemClock()

export function registerNode(program: Command): void {
  const node = program.command('node').description('run, stop and inspect the node on this machine')

  addCommonOptions(
    node
      .command('start')
      .description('run the node: libp2p host and the local HTTP API (foreground unless --detach)')
      .option('--detach', 'run in the background and return once the node answers')
      .option('--api-port <n>', 'port of the HTTP API on 127.0.0.1 (0 picks a free one)')
      .option('--listen <multiaddr...>', 'libp2p listen addresses (default from config.json)')
      .addOption(new Option('--log-file', 'log to logs/node.log, rotated by size (what --detach runs)').hideHelp()),
  ).action(async (flags: StartFlags) => runStart(resolveHome(flags.home, process.env), flags, 'node'))

  addCommonOptions(node.command('stop').description('stop the node running on this data directory')).action((flags: CommonOptions) =>
    runStop(resolveHome(flags.home, process.env), flags, 'node'),
  )

  addCommonOptions(node.command('status').description('show the node running on this data directory')).action((flags: CommonOptions) =>
    runStatus(resolveHome(flags.home, process.env), flags, 'node'),
  )
}

/** Starts the daemon of `home` in the foreground or detached; `what` names it in the output (a witness runs the same daemon). */
export async function runStart(home: string, flags: StartFlags, what: 'node' | 'witness'): Promise<void> {
  const apiPort = flags.apiPort === undefined ? undefined : parseIntOption('--api-port', flags.apiPort, 0, 65535)
  const out = createOutput(flags.json === true)
  if (flags.detach === true) {
    const run = await startDetached(home, apiPort, flags.listen)
    out.result(run, () => `${what} started in the background (pid ${run.pid}, api ${run.api}, peer id ${run.peerId})`)
    return
  }
  const config = loadConfig(homePaths(home).config)
  // Loaded here so that status and stop do not pay for libp2p's import.
  const { startNode } = await import('./daemon.js')
  const logger = createLogger(config.log.level, flags.logFile === true ? openRotatingLog(homePaths(home).logFile) : 2)
  // The daemon's own clock: a timer callback that throws is logged with its code, and the node carries on.
  const daemonClock = createSystemClock({
    onError: (err) => logger.error({ code: codeOf(err), err }, 'a timer callback threw; the node carries on'),
  })
  const running = await startNode(
    { clock: daemonClock, logger },
    {
      home,
      ...(apiPort === undefined ? {} : { apiPort }),
      ...(flags.listen === undefined ? {} : { listen: flags.listen }),
      faultHooks: process.env.INSTAR_FAULT_HOOKS === '1',
    },
  )
  const status = running.status()
  out.result(
    { pid: status.pid, api: status.api, peerId: status.peerId, addresses: status.addresses },
    () => `${what} running (pid ${status.pid}); api ${status.api}; peer id ${status.peerId}; Ctrl-C stops it`,
  )
  const onSignal = (signal: NodeJS.Signals): void => void running.stop(signal)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  await running.stopped
  process.exit(0)
}

export async function runStop(home: string, flags: CommonOptions, what: 'node' | 'witness'): Promise<void> {
  const paths = homePaths(home)
  const out = createOutput(flags.json === true)
  const run = liveRunInfo(paths)
  if (run === null) throw new NodeNotRunningError(paths.home)
  try {
    await connectApi(paths).post('/node/stop', { reason: what === 'node' ? 'instar node stop' : 'instar relay stop' })
  } catch (err) {
    if (!(err instanceof NodeUnreachableError)) throw err
    // The API is wedged: fall back to the signal, which takes the same graceful path.
    process.kill(run.pid, 'SIGTERM')
  }
  const gone = await waitFor(() => !processAlive(run.pid), 5000)
  if (!gone) {
    throw new NodeStopTimeoutError(what, run.pid)
  }
  out.result({ stopped: true, pid: run.pid }, () => `${what} stopped (pid ${run.pid})`)
}

export async function runStatus(home: string, flags: CommonOptions, what: 'node' | 'witness'): Promise<void> {
  const paths = homePaths(home)
  const out = createOutput(flags.json === true)
  if (liveRunInfo(paths) === null) {
    out.result({ running: false }, () => `no ${what} is running on ${paths.home}`)
    process.exitCode = 1
    return
  }
  const s = await connectApi(paths).get<NodeStatus>('/node')
  out.result(s, () =>
    [
      `${s.role === 'witness' ? 'witness' : 'node'} running on ${paths.home}`,
      `  agent        ${s.agent === null ? 'none (not in a mesh yet)' : `${s.agent.name}${s.role === 'witness' ? ' (as its witness)' : ''}`}`,
      `  machine      ${s.machine.name}`,
      `  fingerprint  ${s.machine.fingerprint}`,
      `  peer id      ${s.peerId}`,
      `  listening    ${s.addresses.join('\n               ')}`,
      `  api          ${s.api}`,
      `  pid          ${s.pid}`,
      `  uptime       ${formatDuration(s.uptimeMs)}`,
      `  version      ${s.version}`,
      ...(s.sessions === null || s.sessions === undefined
        ? []
        : [
            `  sessions     ${s.sessions.command}: ${s.sessions.claude === null ? 'checking' : s.sessions.claude.installed ? `claude ${s.sessions.claude.version}` : `NOT USABLE (${s.sessions.claude.error})`}`,
            `               ${s.sessions.running} running, ${s.sessions.warm} warm, ${s.sessions.queued} waiting; at most ${s.sessions.maxConcurrent}; warm for ${formatDuration(s.sessions.warmTtlMs)}, timeout ${formatDuration(s.sessions.timeoutMs)}${s.sessions.model === null ? '' : `; model ${s.sessions.model}`}${s.sessions.permissionMode === null ? '' : `; ${s.sessions.permissionMode}`}`,
          ]),
      ...(s.repairs ?? []).map(
        (r) => `  repaired     ${r.what}: found ${JSON.stringify(r.found)} (out of range), set to ${r.repairedTo} with no vote [${r.code}]`,
      ),
    ].join('\n'),
  )
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = clock.now() + timeoutMs
  while (clock.now() < deadline) {
    if (await condition()) return true
    await clock.sleep(50)
  }
  return condition()
}

async function startDetached(home: string, apiPort: number | undefined, listen: string[] | undefined) {
  const paths = homePaths(home)
  // Fail fast, in this process, on what the child would refuse anyway.
  loadConfig(paths.config)
  const holder = liveLockHolder(paths)
  if (holder !== null) throw new NodeAlreadyRunningError(paths.home, holder)
  mkdirSync(paths.logsDir, { recursive: true, mode: 0o700 })
  // The child's JSON log goes to logs/node.log through its own rotating writer; what it
  // prints itself (a start-up refusal, a crash's stack) goes to logs/stderr.log.
  const errFd = openSync(paths.stderrFile, 'a', 0o600)
  const args = [...process.execArgv, process.argv[1] ?? '', 'node', 'start', '--home', home, '--log-file']
  if (apiPort !== undefined) args.push('--api-port', String(apiPort))
  if (listen !== undefined) args.push('--listen', ...listen)
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', errFd], env: process.env })
  closeSync(errFd)
  let exited: number | null = null
  child.once('exit', (code) => {
    exited = code ?? 1
  })
  const pid = child.pid ?? 0
  const ready = await waitFor(async () => {
    if (exited !== null) return true
    const run = readRunInfo(paths)
    return run !== null && run.pid === pid && (await probeHealth(run.api, 500))
  }, 20_000)
  if (exited !== null || !ready) {
    if (exited === null) child.kill('SIGTERM')
    throw new NodeStartFailedError(`the node did not start: ${lastLogError(paths.stderrFile) ?? `see ${paths.stderrFile}`}`)
  }
  child.unref()
  const run = readRunInfo(paths)
  if (run === null) throw new NodeStartFailedError(`the node started but wrote no ${paths.runFile}`)
  return run
}

/** The last "instar: ..." error line the child printed, to show why it failed. */
function lastLogError(logFile: string): string | null {
  try {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n')
    for (let i = lines.length - 1; i >= 0 && i >= lines.length - 20; i--) {
      const line = lines[i] ?? ''
      if (line.startsWith('instar: ')) return line.slice('instar: '.length)
    }
  } catch {
    return null
  }
  return null
}
