/**
 * sessions: the agent's thinking, done by Claude Code processes. The AgentRunner port runs
 * one turn of a conversation or a job: a new or resumed Claude session, or a message to a warm
 * one, within a per-machine limit of live processes, with a timeout and cancellation by
 * process group; failures come back as typed SessionErrors (not installed, not logged in,
 * usage limit with its reset time, timeout, crash). Placement and the job clock come next.
 *
 *   const runner = createClaudeRunner({ clock, logger }, { logDir: join(home, 'logs', 'sessions') })
 *   const { text, sessionId } = await runner.run({ key: conversationId, prompt: 'hello' })
 *   await runner.run({ key: conversationId, resume: sessionId, prompt: 'and then?' })
 */
export { CLAUDE_RUNNER_DEFAULTS, createClaudeRunner } from './claude-runner.js'
export type { AgentRunner, AgentTurn, AgentTurnResult, ClaudeRunnerOptions, ClaudeVersion, RunnerStatus } from './claude-runner.js'
export { CLAUDE_FLAGS, claudeArgv } from './claude-argv.js'
export type { ClaudeSettings, SessionStart } from './claude-argv.js'
export { MAX_STREAM_LINE, encodeUserMessage, parseStreamLine } from './claude-stream.js'
export type { StreamEvent, StreamUsage } from './claude-stream.js'
export { createAgentHandler } from './agent-handler.js'
export type { AgentHandlerDeps, AgentHandlerOptions } from './agent-handler.js'
export { assembleContext } from './context.js'
export type { ContextMemory, ContextMessage, ContextParts, ContextPerson } from './context.js'
export { classifyFailure } from './claude-failure.js'
export type { Failure } from './claude-failure.js'
export {
  SessionCancelledError,
  SessionCrashedError,
  SessionError,
  SessionNotInstalledError,
  SessionNotLoggedInError,
  SessionRunnerStoppedError,
  SessionTimeoutError,
  SessionUsageLimitError,
} from './errors.js'
export type { SessionErrorCode } from './errors.js'
export { SESSION_ERROR_CODES } from './errors.js'
