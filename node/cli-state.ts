/** `instar memory add|search|list|forget` and `instar people list|show|merge`, through the node's API. */
import type { Command } from 'commander'
import { connectApi } from './api-client.js'
import { addCommonOptions, parseIntOption, type CommonOptions } from './cli-common.js'
import { createOutput, inline } from './cli-output.js'
import { UsageError } from './errors.js'
import { homePaths, resolveHome } from './paths.js'

interface PersonJson {
  id: string
  displayName: string
  notes: string
  significance: number
  lastInteraction: number | null
  identities: Array<{ platform: string; value: string }>
}

/** The limits of POST /memory (api-state-routes.ts), checked here to say what is wrong in the CLI's words. */
const MEMORY_TEXT_MAX = 20_000
const MEMORY_TOPIC_MAX = 100
const MEMORY_TAGS_MAX = 32
const MEMORY_TAG_MAX = 50

function checkMemoryEntry(text: string, topic: string, tags: string[]): void {
  if (text.trim() === '') throw new UsageError('nothing to remember: the text is empty (instar memory add "TEXT" --topic T)')
  if (text.length > MEMORY_TEXT_MAX) throw new UsageError(`the text is ${text.length} characters long; at most ${MEMORY_TEXT_MAX} fit in one entry`)
  if (topic.trim() === '') throw new UsageError('--topic is empty: give the topic to file it under')
  if (topic.length > MEMORY_TOPIC_MAX) throw new UsageError(`--topic is ${topic.length} characters long; at most ${MEMORY_TOPIC_MAX}`)
  if (tags.length > MEMORY_TAGS_MAX) throw new UsageError(`--tags lists ${tags.length} tags; at most ${MEMORY_TAGS_MAX}`)
  const long = tags.find((t) => t.length > MEMORY_TAG_MAX)
  if (long !== undefined) throw new UsageError(`the tag "${long.slice(0, 20)}..." is ${long.length} characters long; at most ${MEMORY_TAG_MAX}`)
}

const api = (flags: CommonOptions) => connectApi(homePaths(resolveHome(flags.home, process.env)))

const describePerson = (p: PersonJson): string =>
  [
    `${p.displayName}  (${p.id})`,
    `  identities    ${p.identities.map((i) => `${i.platform}:${i.value}`).join(', ') || '(none)'}`,
    `  significance  ${p.significance}`,
    `  last contact  ${p.lastInteraction === null ? 'never' : new Date(p.lastInteraction).toISOString()}`,
    ...(p.notes === '' ? [] : [`  notes         ${p.notes.replace(/\n/g, '\n                ')}`]),
  ].join('\n')

export function registerState(program: Command): void {
  const memory = program.command('memory').description("the agent's memory, shared by every machine of the mesh")

  addCommonOptions(
    memory
      .command('add <text>')
      .description('remember something under a topic')
      .requiredOption('--topic <topic>', 'topic to file it under')
      .option('--tags <a,b>', 'comma-separated tags'),
  ).action(async (text: string, flags: CommonOptions & { topic: string; tags?: string }) => {
    const tags = flags.tags === undefined ? [] : flags.tags.split(',').map((t) => t.trim()).filter((t) => t !== '')
    checkMemoryEntry(text, flags.topic, tags)
    const result = await api(flags).post<{ id: string }>('/memory', { text, topic: flags.topic, tags })
    createOutput(flags.json === true).result(result, () => `remembered (${result.id})`)
  })

  addCommonOptions(
    memory.command('search <query>').description('full-text search of the memory').option('--limit <n>', 'at most this many results (1-100, default 10)').option('--topic <topic>', 'only this topic'),
  ).action(async (query: string, flags: CommonOptions & { limit?: string; topic?: string }) => {
    const limit = flags.limit === undefined ? 10 : parseIntOption('--limit', flags.limit, 1, 100)
    if (query.trim() === '') throw new UsageError('nothing to search for: the query is empty')
    if (flags.topic !== undefined && flags.topic.trim() === '') throw new UsageError('--topic is empty')
    // POST: a query of up to 20,000 characters does not fit a URL comfortably.
    const body = { q: query, limit, ...(flags.topic === undefined ? {} : { topic: flags.topic }) }
    const result = await api(flags).post<{ results: Array<{ id: string; text: string; topic: string; score: number; snippet: string }> }>('/memory/search', body)
    createOutput(flags.json === true).result(result, () =>
      result.results.length === 0 ? 'nothing found' : result.results.map((r) => `${inline(r.topic)}  ${inline(r.snippet)}  (${inline(r.id)})`).join('\n'),
    )
  })

  addCommonOptions(memory.command('list').description('entries of one topic, or the topics').option('--topic <topic>', 'list this topic\'s entries')).action(
    async (flags: CommonOptions & { topic?: string }) => {
      const path = flags.topic === undefined ? '/memory' : `/memory?${new URLSearchParams({ topic: flags.topic })}`
      const result = await api(flags).get<{ topics?: Array<{ topic: string; count: number }>; entries?: Array<{ id: string; text: string; tags: string[] }> }>(path)
      createOutput(flags.json === true).result(result, () => {
        if (result.topics !== undefined) return result.topics.length === 0 ? 'no memory yet' : result.topics.map((t) => `${inline(t.topic)}  (${t.count})`).join('\n')
        const entries = result.entries ?? []
        return entries.length === 0 ? 'no entries under this topic' : entries.map((e) => `- ${inline(e.text)}${e.tags.length > 0 ? `  [${inline(e.tags.join(', '))}]` : ''}  (${inline(e.id)})`).join('\n')
      })
    },
  )

  addCommonOptions(memory.command('forget <id>').description('forget one entry, on every machine')).action(async (id: string, flags: CommonOptions) => {
    const result = await api(flags).post<{ forgotten: string }>('/memory/forget', { id })
    createOutput(flags.json === true).result(result, () => `forgotten (${result.forgotten})`)
  })

  const people = program.command('people').description('the people the agent knows, each with their platform identities')

  addCommonOptions(people.command('list').description('everyone, by name')).action(async (flags: CommonOptions) => {
    const result = await api(flags).get<{ people: PersonJson[] }>('/people')
    createOutput(flags.json === true).result(result, () =>
      result.people.length === 0 ? 'nobody yet' : result.people.map((p) => `${inline(p.displayName).padEnd(24)} ${inline(p.identities.map((i) => `${i.platform}:${i.value}`).join(', '))}`).join('\n'),
    )
  })

  addCommonOptions(people.command('show <who>').description('one person, by id, name or platform:value (e.g. telegram:42)')).action(
    async (who: string, flags: CommonOptions) => {
      const result = await api(flags).get<{ person: PersonJson }>(`/people/show?${new URLSearchParams({ q: who })}`)
      createOutput(flags.json === true).result(result, () => describePerson(result.person))
    },
  )

  addCommonOptions(people.command('merge <into> <from>').description('merge the second person into the first (identities, notes, significance)')).action(
    async (into: string, from: string, flags: CommonOptions) => {
      if (into === from) throw new UsageError('merge needs two different people')
      const result = await api(flags).post<{ person: PersonJson }>('/people/merge', { into, from })
      createOutput(flags.json === true).result(result, () => `merged into:\n${describePerson(result.person)}`)
    },
  )
}
