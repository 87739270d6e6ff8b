import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli.js'

/** Every command a user can run: the leaves of the command tree, with their full names. */
function leaves(command: Command, prefix: string[] = []): Array<{ name: string; command: Command }> {
  if (command.commands.length === 0) return [{ name: prefix.join(' '), command }]
  return command.commands.filter((c) => c.name() !== 'help').flatMap((c) => leaves(c, [...prefix, c.name()]))
}

describe('the instar command line', () => {
  const commands = leaves(buildProgram())

  it('has the commands the README lists', () => {
    const names = commands.map((c) => c.name)
    for (const expected of ['init', 'node start', 'node stop', 'node status', 'mesh pair', 'mesh peers', 'mesh status', 'mesh leader', 'mesh remove', 'mesh leave', 'relay start', 'relay stop', 'relay status']) {
      expect(names).toContain(expected)
    }
  })

  it.each(commands.map((c) => [c.name, c.command] as const))('gives "%s" --home, --json and --help', (_name, command) => {
    const flags = command.options.map((o) => o.long)
    expect(flags).toContain('--home')
    expect(flags).toContain('--json')
    expect(command.helpInformation()).toMatch(/--help/)
  })
})
