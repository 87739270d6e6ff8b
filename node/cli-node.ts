/**
 * `instar node start|stop|status`. Stop and status only talk to the running node, so this file
 * imports nothing heavy: `start` loads cli-start.ts (and through it the daemon) when it runs.
 */
import { Option, type Command } from 'commander'
import { existsSync } from 'node:fs'
import { connectApi, type ApiClient } from './api-client.js'
import type { NodeStatus } from './api-server.js'
import { addCommonOptions, homeFlag, relayHomeFlag, waitFor, type CommonOptions } from './cli-common.js'
import { createOutput, formatDuration, rewordError } from './cli-output.js'
import { codeOf, NodeApiError, NodeError, NodeStopTimeoutError } from './errors.js'
import { homePaths, resolveHome, type HomePaths } from './paths.js'
import { liveRunInfo, processAlive } from './run-state.js'

export interface StartFlags extends CommonOptions {
  detach?: boolean
  apiPort?: string
  listen?: string[]
  /** Set by --detach on the background process: log to logs/node.log (rotated) instead of stderr. */
  logFile?: boolean
}

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
  ).action(async (flags: StartFlags) => {
    const { runStart } = await import('./cli-start.js')
    await runStart(resolveHome(flags.home, process.env), flags, 'node')
  })

  addCommonOptions(node.command('stop').description('stop the node running on this data directory')).action((flags: CommonOptions) =>
    runStop(resolveHome(flags.home, process.env), flags, 'node'),
  )

  addCommonOptions(node.command('status').description('show the node running on this data directory')).action((flags: CommonOptions) =>
    runStatus(resolveHome(flags.home, process.env), flags, 'node'),
  )
}

/** The command that lays out (and for a witness, starts) a data directory, as a hint. */
function setUpHint(home: string, what: 'node' | 'witness'): string {
  return what === 'node' ? `"instar init${homeFlag(home)}" lays one out` : `"instar relay start --witness --detach${relayHomeFlag(home)}" lays one out and runs it`
}

/**
 * connectApi, with the hint of its refusal said for a witness when it is one: a witness is
 * laid out and started by "instar relay start", not by "instar init" and "instar node start".
 */
export function connectTo(paths: HomePaths, what: 'node' | 'witness', options: { timeoutMs?: number } = {}): ApiClient {
  try {
    return connectApi(paths, options)
  } catch (err) {
    if (what === 'node') throw err
    const code = codeOf(err)
    if (code === 'HOME_NOT_INITIALIZED') throw rewordError(err, `${paths.home} is not a witness's data directory yet: ${setUpHint(paths.home, what)}`)
    if (code === 'NODE_NOT_RUNNING') {
      throw rewordError(err, `no witness is running on ${paths.home} (start it with "instar relay start --witness --detach${relayHomeFlag(paths.home)}")`)
    }
    throw err
  }
}

export async function runStop(home: string, flags: CommonOptions, what: 'node' | 'witness'): Promise<void> {
  const paths = homePaths(home)
  const out = createOutput(flags.json === true)
  const client = connectTo(paths, what)
  const run = client.run
  try {
    await client.post('/node/stop', { reason: what === 'node' ? 'instar node stop' : 'instar relay stop' })
  } catch (err) {
    if (!(err instanceof NodeApiError) || err.code !== 'NODE_UNREACHABLE') throw err
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
    const laidOut = existsSync(paths.config) || existsSync(paths.machineKey)
    out.result({ running: false }, () => `no ${what} is running on ${paths.home}${laidOut ? '' : `: it is not a data directory yet (${setUpHint(paths.home, what)})`}`)
    process.exitCode = 1
    return
  }
  const s = await connectTo(paths, what).get<NodeStatus>('/node')
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

