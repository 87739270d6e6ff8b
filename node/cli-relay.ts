/**
 * `instar relay start|stop|status`. So far the relay is only a witness: a machine that votes
 * in the leader election of a two-machine mesh and never leads. It runs the node daemon on a
 * data directory of its own (role "witness" in config.json), laid out on first start.
 */
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { addCommonOptions, type CommonOptions } from './cli-common.js'
import { createOutput } from './cli-output.js'
import { runStart, runStatus, runStop, type StartFlags } from './cli-node.js'
import { loadConfig } from './config.js'
import { RelayHomeIsNodeError, UsageError } from './errors.js'
import { homePaths, resolveRelayHome } from './paths.js'

const RELAY_HOME_HELP = 'data directory of the relay (default: $INSTAR_RELAY_HOME, else ~/.instar-relay)'
const relayOptions = (command: Command): Command => addCommonOptions(command, RELAY_HOME_HELP)

export function registerRelay(program: Command): void {
  const relay = program.command('relay').description('run a relay on this machine (so far: the witness of a two-machine mesh)')

  relayOptions(
    relay
      .command('start')
      .description('run the relay daemon; --witness makes it vote in a two-machine mesh\'s leader election without ever leading')
      .option('--witness', 'run as a witness (the only relay role built so far)')
      .option('--name <machine>', 'the witness\'s name in the mesh, on first start (default: the host name)')
      .option('--detach', 'run in the background and return once it answers')
      .option('--api-port <n>', 'port of the HTTP API on 127.0.0.1 (0 picks a free one)')
      .option('--listen <multiaddr...>', 'libp2p listen addresses (default from config.json; a fixed port lets members find the witness again after a restart)'),
  ).action(async (flags: StartFlags & { witness?: boolean; name?: string }) => {
    if (flags.witness !== true) {
      throw new UsageError('only the witness is built so far: run "instar relay start --witness" (the mailbox, directory and circuit relay come later)')
    }
    const home = resolveRelayHome(flags.home, process.env)
    const paths = homePaths(home)
    const out = createOutput(flags.json === true)
    if (!existsSync(paths.config) && !existsSync(paths.machineKey)) {
      const { initHome } = await import('./home.js')
      const created = await initHome({ home, witness: true, ...(flags.name === undefined ? {} : { name: flags.name }) })
      out.note(`initialised the witness's data directory ${created.home} (machine ${created.machine.name}, ${created.machine.fingerprint})`)
      out.note(`next, on a machine of the mesh: instar mesh pair --witness; then here: instar mesh pair <invitation> --home ${home}`)
    } else {
      if (flags.name !== undefined) throw new UsageError(`--name applies only on first start; ${home} is already laid out`)
      const config = loadConfig(paths.config)
      if (config.role !== 'witness') {
        throw new RelayHomeIsNodeError(home)
      }
    }
    await runStart(home, flags, 'witness')
  })

  relayOptions(relay.command('stop').description('stop the relay running on this data directory')).action((flags: CommonOptions) =>
    runStop(resolveRelayHome(flags.home, process.env), flags, 'witness'),
  )

  relayOptions(relay.command('status').description('show the relay running on this data directory')).action((flags: CommonOptions) =>
    runStatus(resolveRelayHome(flags.home, process.env), flags, 'witness'),
  )
}
