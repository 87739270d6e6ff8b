/** The data directory layout: every path a node reads or writes, in one place. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export interface HomePaths {
  home: string
  config: string
  keysDir: string
  machineKey: string
  agentKey: string
  meshKeys: string
  stateDb: string
  apiToken: string
  invitations: string
  runDir: string
  runFile: string
  lockFile: string
  logsDir: string
  logFile: string
  /** What a detached node prints itself (before its logger exists, or a crash). */
  stderrFile: string
}

/** `--home`, else `$INSTAR_HOME`, else `~/.instar`; always absolute. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const chosen = flag ?? env.INSTAR_HOME ?? join(homedir(), '.instar')
  return resolve(chosen)
}

/** For `instar relay`: `--home`, else `$INSTAR_RELAY_HOME`, else `~/.instar-relay`; kept apart from a node's home on the same machine. */
export function resolveRelayHome(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? env.INSTAR_RELAY_HOME ?? join(homedir(), '.instar-relay'))
}

export function homePaths(home: string): HomePaths {
  const keysDir = join(home, 'keys')
  const runDir = join(home, 'run')
  const logsDir = join(home, 'logs')
  return {
    home,
    config: join(home, 'config.json'),
    keysDir,
    machineKey: join(keysDir, 'machine.key'),
    agentKey: join(keysDir, 'agent.key'),
    meshKeys: join(keysDir, 'mesh.keys'),
    stateDb: join(home, 'state.db'),
    apiToken: join(home, 'api.token'),
    invitations: join(home, 'invitations.json'),
    runDir,
    runFile: join(runDir, 'node.json'),
    lockFile: join(runDir, 'node.lock'),
    logsDir,
    logFile: join(logsDir, 'node.log'),
    stderrFile: join(logsDir, 'stderr.log'),
  }
}
