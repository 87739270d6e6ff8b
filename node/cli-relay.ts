/**
 * `instar relay start|pair|stop|status`. So far the relay is only a witness: a machine that votes
 * in the leader election of a two-machine mesh and never leads. It runs the node daemon on a
 * data directory of its own (role "witness" in config.json), laid out on first start.
 */
import type { Command } from 'commander'
import { addCommonOptions, type CommonOptions } from './cli-common.js'
import { joinMesh } from './cli-mesh.js'
import { runStatus, runStop, type StartFlags } from './cli-node.js'
import { createOutput } from './cli-output.js'
import { resolveRelayHome } from './paths.js'

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
    const { runRelayStart } = await import('./cli-start.js')
    await runRelayStart(resolveRelayHome(flags.home, process.env), flags)
  })

  relayOptions(
    relay
      .command('pair <invitation>')
      .description('pair the witness running on this data directory with a mesh, using a witness invitation ("instar mesh pair --witness" on a machine of the mesh)'),
  ).action(async (invitation: string, flags: CommonOptions) =>
    joinMesh(resolveRelayHome(flags.home, process.env), invitation, createOutput(flags.json === true), 'witness'),
  )

  relayOptions(relay.command('stop').description('stop the relay running on this data directory')).action((flags: CommonOptions) =>
    runStop(resolveRelayHome(flags.home, process.env), flags, 'witness'),
  )

  relayOptions(relay.command('status').description('show the relay running on this data directory')).action((flags: CommonOptions) =>
    runStatus(resolveRelayHome(flags.home, process.env), flags, 'witness'),
  )
}
