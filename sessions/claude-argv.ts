/**
 * The argv of one Claude Code session, never through a shell. Every session reads its user
 * messages as stream-json on stdin (a prompt never lands in argv, where it could read as a
 * flag, and a warm session takes later messages the same way) and writes stream-json:
 *
 *   -p --output-format stream-json --verbose --input-format stream-json
 *   (--session-id UUID | --resume ID) [--append-system-prompt TEXT] [--mcp-config PATH]
 *   [--model M] [--permission-mode MODE] [--max-budget-usd N] ...extra args from config
 *
 * Only flags that `claude --help` lists (2.1.x); tests/sessions checks them against a real
 * CLI when INSTAR_CLAUDE_BIN names one. Pure.
 */

export interface ClaudeSettings {
  model?: string | undefined
  permissionMode?: string | undefined
  maxBudgetUsd?: number | undefined
  mcpConfigPath?: string | undefined
  extraArgs?: readonly string[] | undefined
}

export interface SessionStart {
  /** A new session with this id (a UUID), or the id of one to resume. */
  session: { new: string } | { resume: string }
  systemPrompt?: string | undefined
  model?: string | undefined
}

/** The flags every session gets; the contract test checks each against `claude --help`. */
export const CLAUDE_FLAGS = ['-p', '--output-format', '--verbose', '--input-format', '--session-id', '--resume', '--append-system-prompt', '--mcp-config', '--model', '--permission-mode', '--max-budget-usd'] as const

export function claudeArgv(start: SessionStart, settings: ClaudeSettings): string[] {
  const argv = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json']
  if ('new' in start.session) argv.push('--session-id', start.session.new)
  else argv.push('--resume', start.session.resume)
  if (start.systemPrompt !== undefined && start.systemPrompt !== '') argv.push('--append-system-prompt', start.systemPrompt)
  if (settings.mcpConfigPath !== undefined) argv.push('--mcp-config', settings.mcpConfigPath)
  const model = start.model ?? settings.model
  if (model !== undefined) argv.push('--model', model)
  if (settings.permissionMode !== undefined) argv.push('--permission-mode', settings.permissionMode)
  if (settings.maxBudgetUsd !== undefined) argv.push('--max-budget-usd', String(settings.maxBudgetUsd))
  argv.push(...(settings.extraArgs ?? []))
  return argv
}
