/** `instar init`: lays out a data directory with this machine's keys (and a new agent's, with --agent). */
import type { Command } from 'commander'
import { createOutput } from './cli-output.js'
import { UsageError } from './errors.js'
import { resolveHome } from './paths.js'
import { addCommonOptions, parseIntOption, type CommonOptions } from './cli-common.js'

interface InitFlags extends CommonOptions {
  agent?: string
  name?: string
  priority?: string
  force?: boolean
}

export function registerInit(program: Command): void {
  addCommonOptions(
    program
      .command('init')
      .description('create the data directory: machine key, config.json, api.token (and with --agent, a new mesh)')
      .option('--agent <name>', 'found a new mesh for this agent (creates the agent key and the first mesh key)')
      .option('--name <machine>', 'this machine\'s name in the mesh (default: the host name)')
      .option('--priority <n>', 'leadership priority of this machine, 0-1000 (default 0)')
      .option('--force', 'replace existing keys (this machine gets a new identity)'),
  ).action(async (flags: InitFlags) => {
    const out = createOutput(flags.json === true)
    const priority = flags.priority === undefined ? undefined : parseIntOption('--priority', flags.priority, 0, 1000)
    if (flags.agent !== undefined && flags.agent.trim() === '') throw new UsageError('--agent needs a name')
    const { initHome } = await import('./home.js')
    const result = await initHome({
      home: resolveHome(flags.home, process.env),
      ...(flags.agent === undefined ? {} : { agent: flags.agent }),
      ...(flags.name === undefined ? {} : { name: flags.name }),
      ...(priority === undefined ? {} : { priority }),
      force: flags.force === true,
    })
    for (const warning of result.warnings) out.warn(warning)
    out.result({ home: result.home, machine: result.machine, agent: result.agent }, () =>
      [
        `initialised ${result.home}`,
        `  machine      ${result.machine.name}`,
        `  fingerprint  ${result.machine.fingerprint}`,
        `  peer id      ${result.machine.peerId}`,
        result.agent === null
          ? '  agent        none yet: join a mesh with "instar mesh pair <invitation>"'
          : `  agent        ${result.agent.name} (new mesh founded)`,
        `next: instar node start --home ${result.home}`,
      ].join('\n'),
    )
  })
}
