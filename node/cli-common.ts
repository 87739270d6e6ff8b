/** Options every CLI command takes, and parsing of numeric flags. */
import { Option, type Command } from 'commander'
import { UsageError } from './errors.js'

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
