/** `instar mcp`: the MCP server for agent sessions, on stdin and stdout, talking to the node of this data directory. */
import type { Command } from 'commander'
import { connectApi } from './api-client.js'
import { addCommonOptions, type CommonOptions } from './cli-common.js'
import { homePaths, resolveHome } from './paths.js'

export function registerMcp(program: Command): void {
  addCommonOptions(
    program
      .command('mcp')
      .description('serve the agent\'s memory and people to a Claude Code session over MCP (stdio); the node must be running')
      .addHelpText('after', '\nA session gets it with --mcp-config, e.g. {"mcpServers":{"instar":{"command":"instar","args":["mcp","--home","~/.instar"]}}}.\nWith --json, an error before serving is one JSON line; once serving, stdout carries only the MCP protocol.'),
  ).action(async (flags: CommonOptions) => {
    const paths = homePaths(resolveHome(flags.home, process.env))
    // Fails here, before serving, when no node runs: a session then sees the server not start.
    connectApi(paths)
    const [{ serveMcp }, { StdioServerTransport }] = await Promise.all([import('./mcp-server.js'), import('@modelcontextprotocol/sdk/server/stdio.js')])
    await serveMcp({ api: () => connectApi(paths) }, new StdioServerTransport())
  })
}
