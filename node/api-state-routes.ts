/** Routes of the agent's state: memory (add, search, list, forget) and people (list, show, merge). */
import type { FastifyInstance } from 'fastify'
import { IDENTITY_LIMITS, MEMORY_SEARCH_LIMITS, type AgentState, type Person } from '../crdt/index.js'

/**
 * The longest search query, in UTF-16 code units as the search counts it (the API's schemas
 * count string lengths that way too, see api-server.ts). GET carries it in the URL, whose
 * size the server's header limit admits (API_MAX_HEADER_BYTES); POST carries it in the body.
 */
export const SEARCH_QUERY_MAX_LENGTH = MEMORY_SEARCH_LIMITS.maxQueryLength

export interface StateRoutesDeps {
  /** The agent state once its documents are loaded; rejects (MESH_NOT_MEMBER) on a machine that has none. */
  state(): Promise<AgentState>
  selfPeerId(): string
  now(): number
}

const personJson = (p: Person) => ({
  id: p.id,
  displayName: p.displayName,
  notes: p.notes,
  significance: p.significance,
  lastInteraction: p.lastInteraction,
  identities: p.identities,
})

export function registerStateRoutes(fastify: FastifyInstance, deps: StateRoutesDeps): void {
  // The agent's identity text, told to every session it runs.
  fastify.get('/agent/identity', async () => ({ identity: (await deps.state()).identity.get() }))
  fastify.post(
    '/agent/identity',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['text'], properties: { text: { type: 'string', maxLength: IDENTITY_LIMITS.maxTextLength } } } } },
    async (request) => {
      const { text } = request.body as { text: string }
      const state = await deps.state()
      const identity = state.identity.set(text, deps.selfPeerId(), deps.now())
      await state.documents.committed()
      return { identity }
    },
  )

  fastify.post(
    '/memory',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['text', 'topic'],
          properties: {
            text: { type: 'string', minLength: 1, maxLength: 20_000 },
            topic: { type: 'string', minLength: 1, maxLength: 100 },
            tags: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 50 } },
          },
        },
      },
    },
    async (request) => {
      const body = request.body as { text: string; topic: string; tags?: string[] }
      const state = await deps.state()
      const id = state.memory.add({ text: body.text, topic: body.topic, tags: body.tags ?? [], author: deps.selfPeerId() }, deps.now())
      // The answer is the acknowledgement: sent once the group commit that holds the write is.
      await state.documents.committed()
      return { id }
    },
  )

  const search = async (q: string, limit: number, topic: string | undefined) => {
    const index = (await deps.state()).memoryIndex
    // Before the index is filled, the request waits for the background fill (which gives up
    // the turn between chunks) rather than finishing it at once on the event loop.
    await index.filled()
    return { results: index.search(q, { limit: Math.min(100, Math.max(1, limit)), ...(topic === undefined ? {} : { topic }) }) }
  }
  const searchQuery = { type: 'string', minLength: 1, maxLength: SEARCH_QUERY_MAX_LENGTH }
  const searchTopic = { type: 'string', minLength: 1, maxLength: 100 }

  // GET ?q=...: kept for curl and links; the CLI uses POST.
  fastify.get(
    '/memory/search',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['q'],
          properties: { q: searchQuery, limit: { type: 'string', pattern: '^[0-9]{1,3}$' }, topic: searchTopic },
        },
      },
    },
    async (request) => {
      const query = request.query as { q: string; limit?: string; topic?: string }
      return search(query.q, query.limit === undefined ? 10 : Number(query.limit), query.topic)
    },
  )

  fastify.post(
    '/memory/search',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['q'],
          properties: { q: searchQuery, limit: { type: 'integer', minimum: 1, maximum: 100 }, topic: searchTopic },
        },
      },
    },
    async (request) => {
      const body = request.body as { q: string; limit?: number; topic?: string }
      return search(body.q, body.limit ?? 10, body.topic)
    },
  )

  fastify.get(
    '/memory',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { topic: { type: 'string', minLength: 1, maxLength: 100 } },
        },
      },
    },
    async (request) => {
      const { topic } = request.query as { topic?: string }
      const memory = (await deps.state()).memory
      if (topic === undefined) return { topics: memory.topics() }
      return { entries: memory.listByTopic(topic) }
    },
  )

  fastify.post(
    '/memory/forget',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } } },
    async (request) => {
      const { id } = request.body as { id: string }
      const state = await deps.state()
      state.memory.forget(id)
      await state.documents.committed()
      return { forgotten: id }
    },
  )

  fastify.get('/people', async () => ({ people: (await deps.state()).relationships.list().map(personJson) }))

  fastify.get(
    '/people/show',
    { schema: { querystring: { type: 'object', additionalProperties: false, required: ['q'], properties: { q: { type: 'string', minLength: 1, maxLength: 300 } } } } },
    async (request) => {
      const { q } = request.query as { q: string }
      return { person: personJson((await deps.state()).relationships.find(q)) }
    },
  )

  fastify.post(
    '/people/merge',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['into', 'from'],
          properties: { into: { type: 'string', minLength: 1, maxLength: 300 }, from: { type: 'string', minLength: 1, maxLength: 300 } },
        },
      },
    },
    async (request) => {
      const body = request.body as { into: string; from: string }
      const state = await deps.state()
      const people = state.relationships
      const into = people.find(body.into)
      const from = people.find(body.from)
      const merged = personJson(people.merge(into.id, from.id, deps.now()))
      await state.documents.committed()
      return { person: merged }
    },
  )
}
