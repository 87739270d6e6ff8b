/** `instar init`: lays out a data directory with this machine's keys (and a new agent's, with --agent). */
import type { Command } from 'commander'
import { createOutput } from './cli-output.js'
import { UsageError } from './errors.js'
import { resolveHome } from './paths.js'
import { addCommonOptions, homeFlag, parseIntOption, type CommonOptions } from './cli-common.js'

interface InitFlags extends CommonOptions {
  agent?: string
  name?: string
  priority?: string
  force?: boolean
}

/**
 * A machine or agent name given on the command line, checked by config.json's own rule: a bad
 * one is the command line's fault (USAGE, exit 2), not a bad config file.
 */
export async function checkNameFlag(flag: '--name' | '--agent', value: string): Promise<void> {
  const { configSchema } = await import('./config.js')
  const rule = flag === '--name' ? configSchema.shape.machine.shape.name : configSchema.shape.agent.unwrap().shape.name
  const checked = rule.safeParse(value)
  if (!checked.success) throw new UsageError(`${flag} "${value}" ${checked.error.issues[0]?.message ?? 'is not valid'}`)
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
    if (flags.agent !== undefined) await checkNameFlag('--agent', flags.agent)
    if (flags.name !== undefined) await checkNameFlag('--name', flags.name)
    const { initHome } = await import('./home.js')
    const result = await initHome({
      home: resolveHome(flags.home, process.env),
      ...(flags.agent === undefined ? {} : { agent: flags.agent }),
      ...(flags.name === undefined ? {} : { name: flags.name }),
      ...(priority === undefined ? {} : { priority }),
      force: flags.force === true,
    })
    const home = homeFlag(result.home)
    for (const warning of result.warnings) out.warn(warning)
    out.result({ home: result.home, machine: result.machine, agent: result.agent }, () =>
      [
        `initialised ${result.home}`,
        `  machine      ${result.machine.name}`,
        `  fingerprint  ${result.machine.fingerprint}`,
        `  peer id      ${result.machine.peerId}`,
        result.agent === null
          ? `  agent        none yet: start the node, then join a mesh with "instar mesh pair <invitation>${home}"`
          : `  agent        ${result.agent.name} (new mesh founded)`,
        `next: instar node start --detach${home}`,
      ].join('\n'),
    )
  })
}
