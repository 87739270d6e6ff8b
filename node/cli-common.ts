/** Options every CLI command takes, parsing of numeric flags, and waiting on a condition. */
import { Option, type Command } from 'commander'
import { createSystemClock } from '../runtime/index.js'
import { UsageError } from './errors.js'
import { resolveHome, resolveRelayHome } from './paths.js'

export interface CommonOptions {
  home?: string
  json?: boolean
}

/** --home and --json; `homeHelp` names the default data directory where it is not a node's. */
export function addCommonOptions(command: Command, homeHelp = 'data directory (default: $INSTAR_HOME, else ~/.instar)'): Command {
  return command.addOption(new Option('--home <dir>', homeHelp)).addOption(new Option('--json', 'print machine-readable JSON'))
}

export function parseIntOption(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, not "${value}"`)
  const n = Number.parseInt(value, 10)
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, not ${n}`)
  return n
}

const clock = createSystemClock()

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes; resolves to whether it held. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = clock.now() + timeoutMs
  while (clock.now() < deadline) {
    if (await condition()) return true
    await clock.sleep(50)
  }
  return condition()
}

/** A word as a POSIX shell reads it back: as is when it is plain, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_/.,:@%+=~-]+$/.test(word) && !word.startsWith('~') ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/** ` --home DIR` for a hint run on a relay's data directory, or nothing when DIR is where the relay commands look by default. */
export function relayHomeFlag(home: string): string {
  return home === resolveRelayHome(undefined, process.env) ? '' : ` --home ${shellQuote(home)}`
}

/** ` --home DIR` for a hint run on a node's data directory, or nothing when DIR is the default one. */
export function homeFlag(home: string): string {
  return home === resolveHome(undefined, process.env) ? '' : ` --home ${shellQuote(home)}`
}
