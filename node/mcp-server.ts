/**
 * `instar mcp`: a stdio MCP server (@modelcontextprotocol/sdk) that gives an agent session the
 * node's state through the local HTTP API, with the API token, as the CLI does. Every session
 * gets it through `--mcp-config`. Tool inputs are checked by zod schemas before anything is
 * asked of the node; a failure comes back as a tool error whose text is
 * `{"error":{"code","message"}}` with the node's code. Nothing but the protocol goes to stdout.
 *
 * Tools: memory_search, memory_add, person_lookup, conversation_history, send_message. The job
 * tool (job_list) comes with the job routes it needs.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { z } from 'zod'
import type { ApiClient } from './api-client.js'
import { codeOf } from './errors.js'
import { VERSION } from './version.js'

export interface McpServerDeps {
  /** A client of the running node, asked for anew on each call (the node may have restarted on another port). */
  api(): ApiClient
}

const ok = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value as Record<string, unknown> })

function failed(err: unknown): CallToolResult {
  const message = err instanceof Error ? err.message : 'the call failed'
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: { code: codeOf(err), message } }) }] }
}

const call = async (fn: () => Promise<unknown>): Promise<CallToolResult> => {
  try {
    return ok(await fn())
  } catch (err) {
    return failed(err)
  }
}

export function createInstarMcpServer(deps: McpServerDeps): McpServer {
  const server = new McpServer({ name: 'instar', version: VERSION })

  server.registerTool(
    'memory_search',
    {
      title: 'Search memory',
      description: "Full-text search of the agent's memory, shared by every machine of its mesh. Returns the best matches first.",
      inputSchema: {
        query: z.string().min(1).max(20_000).describe('words to look for'),
        limit: z.number().int().min(1).max(100).optional().describe('at most this many results (default 10)'),
        topic: z.string().min(1).max(100).optional().describe('only entries filed under this topic'),
      },
    },
    ({ query, limit, topic }) => call(() => deps.api().post('/memory/search', { q: query, ...(limit === undefined ? {} : { limit }), ...(topic === undefined ? {} : { topic }) })),
  )

  server.registerTool(
    'memory_add',
    {
      title: 'Remember',
      description: "Adds an entry to the agent's memory under a topic; every machine of the mesh gets it.",
      inputSchema: {
        text: z.string().min(1).max(20_000),
        topic: z.string().min(1).max(100),
        tags: z.array(z.string().min(1).max(50)).max(32).optional(),
      },
    },
    ({ text, topic, tags }) => call(() => deps.api().post('/memory', { text, topic, tags: tags ?? [] })),
  )

  server.registerTool(
    'person_lookup',
    {
      title: 'Look up a person',
      description: 'A person the agent knows, by id, name or an identity such as telegram:12345: their names, identities, notes and last interaction.',
      inputSchema: { who: z.string().min(1).max(300) },
    },
    ({ who }) => call(() => deps.api().get(`/people/show?q=${encodeURIComponent(who)}`)),
  )

  server.registerTool(
    'conversation_history',
    {
      title: 'Read a conversation',
      description: 'The latest messages of a conversation (a Telegram chat or forum topic, such as telegram:12345), oldest first, with who wrote each and when.',
      inputSchema: {
        conversation: z.string().min(1).max(256).describe('the conversation id, such as telegram:12345'),
        limit: z.number().int().min(1).max(500).optional().describe('at most this many messages (default 50)'),
      },
    },
    ({ conversation, limit }) => call(() => deps.api().get(`/conversations/show?id=${encodeURIComponent(conversation)}&limit=${limit ?? 50}`)),
  )

  server.registerTool(
    'send_message',
    {
      title: 'Send a message',
      description: 'Queues a message to a conversation; whichever machine leads sends it, once. Markdown by default. Your answer to the message you are handling is sent anyway: use this for anything else.',
      inputSchema: {
        conversation: z.string().min(1).max(256).describe('the conversation id, such as telegram:12345'),
        text: z.string().min(1).max(65_536),
        format: z.enum(['markdown', 'text']).optional(),
      },
    },
    ({ conversation, text, format }) => call(() => deps.api().post('/channels/send', { conversationId: conversation, text, ...(format === undefined ? {} : { format }) })),
  )

  return server
}

/** Serves on `transport` until it closes. */
export async function serveMcp(deps: McpServerDeps, transport: Transport): Promise<void> {
  const server = createInstarMcpServer(deps)
  const closed = new Promise<void>((resolve) => (server.server.onclose = resolve))
  await server.connect(transport)
  await closed
}
