/** The `instar` command line: builds the commander program and runs it, mapping errors to exit codes. */
import { Command, CommanderError } from 'commander'
import { registerChannels } from './cli-channels.js'
import { registerInit } from './cli-init.js'
import { registerMesh } from './cli-mesh.js'
import { registerNode } from './cli-node.js'
import { registerRelay } from './cli-relay.js'
import { registerState } from './cli-state.js'
import { reportError } from './cli-output.js'
import { VERSION } from './version.js'

export function buildProgram(): Command {
  const program = new Command('instar')
    .description('instar mesh: one AI agent, many machines')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  registerInit(program)
  registerNode(program)
  registerMesh(program)
  registerState(program)
  registerRelay(program)
  registerChannels(program)
  for (const command of program.commands) {
    command.exitOverride()
    for (const sub of command.commands) sub.exitOverride()
  }
  return program
}

/** Runs the CLI; resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one line (or the help text).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return err.exitCode === 0 ? 0 : 2
    }
    return reportError(err, argv.includes('--json'))
  }
}
