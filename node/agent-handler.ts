/**
 * The agent handler of a member node: the Claude Code runner answers conversations, with the
 * context drawn from its agent state (people, memory search). Used by the daemon when claude
 * is usable on this machine; otherwise the pipeline keeps the record-only handler.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ConversationHandler } from '../channels/index.js'
import { MEMORY_SEARCH_LIMITS, type AgentState } from '../crdt/index.js'
import type { Logger } from '../runtime/index.js'
import { createAgentHandler, type AgentRunner } from '../sessions/index.js'
import type { HomePaths } from './paths.js'

export interface NodeAgentHandlerDeps {
  runner: AgentRunner
  state: AgentState
  logger: Logger
  /** This machine's name (config machine.name). */
  machine: string
  /** The agent's name (config agent.name). */
  agentName: string
  contextBudget: number
}

/** Who the agent is while no identity text is set (instar agent identity set). */
export const defaultIdentity = (agentName: string): string =>
  `You are ${agentName}, an agent that lives on several machines at once (an instar mesh). You remember through the instar memory, which you can search and add to with the instar MCP tools when you are given them.`

export function createNodeAgentHandler(deps: NodeAgentHandlerDeps): ConversationHandler {
  const { state } = deps
  return createAgentHandler(
    {
      runner: deps.runner,
      identity: () => state.identity.get()?.text ?? defaultIdentity(deps.agentName),
      person: (id) => state.relationships.get(id),
      // Only a filled index answers at once; a search before that would fill it on the event loop.
      memories: (text, limit) =>
        state.memoryIndex.isFilled() ? state.memoryIndex.search(text.slice(0, MEMORY_SEARCH_LIMITS.maxQueryLength), { limit, any: true }).map((r) => ({ topic: r.topic, text: r.text })) : [],
      logger: deps.logger,
      machine: deps.machine,
    },
    { contextBudget: deps.contextBudget },
  )
}

/**
 * Writes the --mcp-config every session of this machine gets: the instar MCP server of this
 * data directory (`instar mcp --home HOME`, which reads the API token itself; the file holds
 * no secret). `cli` is how to run this CLI. Returns the file's path.
 */
export function writeMcpConfig(paths: HomePaths, cli: string[]): string {
  const [command, ...args] = cli
  if (command === undefined) throw new RangeError('cli must name a program')
  const path = join(paths.home, 'sessions-mcp.json')
  writeFileSync(path, `${JSON.stringify({ mcpServers: { instar: { command, args: [...args, 'mcp', '--home', paths.home] } } }, null, 2)}\n`, { mode: 0o600 })
  return path
}
