/**
 * `instar node start` and `instar relay start`: runs the daemon in the foreground, or spawns
 * it detached and waits until it answers. Loaded only by those commands (cli-node.ts and
 * cli-relay.ts import it when they run), since the daemon brings libp2p, Yjs and SQLite.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { createSystemClock } from '../runtime/index.js'
import { probeHealth } from './api-client.js'
import { parseIntOption, relayHomeFlag, waitFor } from './cli-common.js'
import { checkNameFlag } from './cli-init.js'
import type { StartFlags } from './cli-node.js'
import { createOutput } from './cli-output.js'
import { loadConfig } from './config.js'
import { codeOf, HomeNotInitializedError, NodeAlreadyRunningError, NodeStartFailedError, RelayHomeIsNodeError, UsageError } from './errors.js'
import { openRotatingLog } from './log-files.js'
import { createLogger } from './logger.js'
import { homePaths } from './paths.js'
import { liveLockHolder, readRunInfo } from './run-state.js'

/** Starts the daemon of `home` in the foreground or detached; `what` names it in the output (a witness runs the same daemon). */
export async function runStart(home: string, flags: StartFlags, what: 'node' | 'witness'): Promise<void> {
  const apiPort = flags.apiPort === undefined ? undefined : parseIntOption('--api-port', flags.apiPort, 0, 65535)
  const out = createOutput(flags.json === true)
  const paths = homePaths(home)
  // Named before config.json is read, so that the hint is "instar init", not a missing file.
  if (!existsSync(paths.config) && !existsSync(paths.machineKey)) throw new HomeNotInitializedError(paths.home)
  if (flags.detach === true) {
    const run = await startDetached(home, apiPort, flags.listen)
    out.result(run, () => `${what} started in the background (pid ${run.pid}, api ${run.api}, peer id ${run.peerId})`)
    return
  }
  const config = loadConfig(paths.config)
  const { startNode } = await import('./daemon.js')
  const logger = createLogger(config.log.level, flags.logFile === true ? openRotatingLog(paths.logFile) : 2)
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
      cli: [process.execPath, ...process.execArgv, process.argv[1] ?? ''],
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

/** `instar relay start --witness`: lays out the witness's data directory on first start, then runs it. */
export async function runRelayStart(home: string, flags: StartFlags & { witness?: boolean; name?: string }): Promise<void> {
  if (flags.witness !== true) {
    throw new UsageError('only the witness is built so far: run "instar relay start --witness" (the mailbox, directory and circuit relay come later)')
  }
  const paths = homePaths(home)
  const out = createOutput(flags.json === true)
  if (!existsSync(paths.config) && !existsSync(paths.machineKey)) {
    if (flags.name !== undefined) await checkNameFlag('--name', flags.name)
    const { initHome } = await import('./home.js')
    const created = await initHome({ home, witness: true, ...(flags.name === undefined ? {} : { name: flags.name }) })
    out.note(`initialised the witness's data directory ${created.home} (machine ${created.machine.name}, ${created.machine.fingerprint})`)
    out.note(`next, on a machine of the mesh: instar mesh pair --witness; then here: instar relay pair <invitation>${relayHomeFlag(home)}`)
  } else {
    if (flags.name !== undefined) throw new UsageError(`--name applies only on first start; ${home} is already laid out`)
    const config = loadConfig(paths.config)
    if (config.role !== 'witness') {
      throw new RelayHomeIsNodeError(home)
    }
  }
  await runStart(home, flags, 'witness')
}
