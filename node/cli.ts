/**
 * The `instar` command line: builds the commander program and runs it, mapping errors to exit
 * codes. Every error, the parser's included, is reported the one way (cli-output.ts): one line
 * `instar: <what> [CODE]` on stderr and, with --json, `{"error":{...}}` on stdout.
 *
 * This file and what it imports at the top are what every command loads: commander, the
 * output, the API client. What only `init`, `node start` and `relay start` need (keys, config
 * schema, the daemon with libp2p and Yjs) is imported by those commands when they run.
 */
import { Command, CommanderError } from 'commander'
import { registerAgent } from './cli-agent.js'
import { registerChannels } from './cli-channels.js'
import { registerInit } from './cli-init.js'
import { registerMcp } from './cli-mcp.js'
import { registerMesh } from './cli-mesh.js'
import { registerNode } from './cli-node.js'
import { registerRelay } from './cli-relay.js'
import { registerState } from './cli-state.js'
import { reportError } from './cli-output.js'
import { UsageError } from './errors.js'
import { VERSION } from './version.js'

export function buildProgram(): Command {
  // Set before the commands are added: each subcommand inherits both settings.
  const program = new Command('instar')
    .description('instar mesh: one AI agent, many machines')
    .version(VERSION, '-v, --version')
    .exitOverride()
    // Commander's own error line is replaced by ours (runCli); help and version still print.
    .configureOutput({ outputError: () => undefined })
  registerInit(program)
  registerNode(program)
  registerMesh(program)
  registerState(program)
  registerMcp(program)
  registerRelay(program)
  registerChannels(program)
  registerAgent(program)
  return program
}

/** The command the words of argv name, as far as they name one: "instar memory add". */
function commandNamed(program: Command, argv: string[]): string {
  const names = ['instar']
  let command = program
  for (const word of argv) {
    if (word.startsWith('-')) continue
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word))
    if (sub === undefined) break
    names.push(sub.name())
    command = sub
  }
  return names.join(' ')
}

/** A parser error as a usage error: commander's text without its "error: " and with where to read more. */
function usageFromParser(err: CommanderError, program: Command, argv: string[]): UsageError {
  const command = commandNamed(program, argv)
  if (err.code === 'commander.help') {
    return new UsageError(`"${command}" needs a command: see the list above, or run "${command} --help"`)
  }
  const what = err.message.replace(/^error: /, '').replace(/\n+/g, ' ').trim()
  return new UsageError(`${what}; run "${command} --help" for usage`)
}

/** Runs the CLI; resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram()
  const json = argv.includes('--json')
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version printed what was asked; a command group run without its command printed its help on stderr.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0
      return reportError(usageFromParser(err, program, argv), json)
    }
    return reportError(err, json)
  }
}
