/** `instar agent identity show|set`: the agent's identity text, told to every session it runs, through the node's API. */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { connectApi } from './api-client.js'
import { addCommonOptions, type CommonOptions } from './cli-common.js'
import { createOutput } from './cli-output.js'
import { UsageError } from './errors.js'
import { homePaths, resolveHome } from './paths.js'

interface IdentityJson {
  text: string
  by: string
  at: number
}

/** The limit of POST /agent/identity (crdt/identity-model.ts), checked here to say it in the CLI's words. */
const IDENTITY_TEXT_MAX = 20_000

const api = (flags: CommonOptions) => connectApi(homePaths(resolveHome(flags.home, process.env)))

async function readText(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read --file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('the agent itself, the same on every machine of the mesh')
  const identity = agent.command('identity').description("the agent's identity text (who it is, how it speaks), told to every session it runs")

  addCommonOptions(identity.command('show').description('print the identity text')).action(async (flags: CommonOptions) => {
    const { identity: current } = await api(flags).get<{ identity: IdentityJson | null }>('/agent/identity')
    createOutput(flags.json === true).result({ identity: current }, () => (current === null ? 'no identity text is set: sessions are told a default one naming the agent (instar agent identity set --file F)' : current.text))
  })

  addCommonOptions(
    identity
      .command('set')
      .description('replace the identity text, on every machine')
      .option('--file <file>', 'read the text from this file ("-" for stdin)')
      .option('--clear', 'remove it (sessions are told the default again)'),
  ).action(async (flags: CommonOptions & { file?: string; clear?: boolean }) => {
    if ((flags.file === undefined) === (flags.clear !== true)) throw new UsageError('give the text with --file FILE (or --file - for stdin), or --clear')
    const text = flags.clear === true ? '' : await readText(flags.file as string)
    if (flags.clear !== true && text.trim() === '') throw new UsageError(`the identity text in ${flags.file === '-' ? 'stdin' : flags.file} is empty; use --clear to remove it`)
    if (text.length > IDENTITY_TEXT_MAX) throw new UsageError(`the identity text is ${text.length} characters long; at most ${IDENTITY_TEXT_MAX}`)
    const result = await api(flags).post<{ identity: IdentityJson | null }>('/agent/identity', { text })
    createOutput(flags.json === true).result(result, () => (result.identity === null ? 'identity text cleared' : `identity text set (${result.identity.text.length} characters)`))
  })
}
