/**
 * The agent as the conversation handler (channels/ports.ts): each received message becomes
 * a turn of a Claude Code session of its conversation, run by the AgentRunner on this
 * machine, and the session's answer becomes the reply.
 *
 * A conversation's first turn here starts a new session told the context (context.ts: the
 * agent's identity, the person, the best memory matches, the recent messages from shared
 * state); later turns resume that session (or go to its warm process) and are told only the
 * message. Session ids are this machine's (Claude keeps transcripts on the machine that ran
 * them), so a machine that takes over a conversation starts a new session seeded from shared
 * state, and so does this one after a restart or when a resume fails.
 *
 * Failures: a runner that cannot run here at all (not installed, not logged in, usage limit)
 * answers with a short notice that says so and what to do, rather than leaving the person
 * without a word; a crash or timeout throws, so the dispatcher tries again. A cancelled turn
 * (the lease lost) throws too: the next leader hands the message over again.
 *
 * Not built yet: placing a turn on another machine of the mesh (every turn runs on the leader).
 */
import type { ConversationHandler, HandlerContext, HandlerReply } from '../channels/index.js'
import type { Message, Person } from '../crdt/index.js'
import type { Logger } from '../runtime/index.js'
import type { AgentRunner } from './claude-runner.js'
import { assembleContext, type ContextMemory, type ContextPerson } from './context.js'
import { SessionError, SessionUsageLimitError } from './errors.js'

export interface AgentHandlerDeps {
  runner: AgentRunner
  /** The agent's identity text (who it is); '' when none is set. */
  identity(): string
  /** The person a message is from, when known. */
  person(personId: string): Person | undefined
  /** The memory entries that best match `text`, best first; [] when none or the text has no words. */
  memories(text: string, limit: number): ContextMemory[]
  logger: Logger
  /** This machine's name, named in notices ("claude is not logged in on laptop"). */
  machine: string
}

export interface AgentHandlerOptions {
  /** Characters of context a new session is told (sessions.contextBudget). */
  contextBudget: number
  /** Recent messages offered to the context; default 50. */
  recentMessages?: number
  /** Memory matches offered to the context; default 8. */
  memoryMatches?: number
}

/** Codes of a runner that cannot run here until a person acts: the turn gets a notice, not a retry. */
const NOTICE_CODES = new Set(['SESSION_NOT_INSTALLED', 'SESSION_NOT_LOGGED_IN', 'SESSION_USAGE_LIMIT'])

const contextPerson = (p: Person): ContextPerson => ({
  name: p.displayName,
  identities: p.identities.map((i) => `${i.platform}:${i.value}`),
  notes: p.notes,
  lastInteraction: p.lastInteraction,
})

function noticeOf(err: SessionError, machine: string): string {
  switch (err.code) {
    case 'SESSION_NOT_INSTALLED':
      return `I cannot answer right now: Claude Code is not installed on ${machine}, the machine that leads. Install it there (npm install -g @anthropic-ai/claude-code) or set sessions.command in its config.json.`
    case 'SESSION_NOT_LOGGED_IN':
      return `I cannot answer right now: Claude Code is not logged in on ${machine}, the machine that leads. Run "claude" there once and log in.`
    default: {
      const resetAt = err instanceof SessionUsageLimitError ? err.resetAt : null
      return resetAt === null
        ? `I cannot answer right now: the Claude usage limit on ${machine} is reached.`
        : `I cannot answer right now: the Claude usage limit on ${machine} is reached until ${new Date(resetAt).toISOString()}.`
    }
  }
}

export function createAgentHandler(deps: AgentHandlerDeps, options: AgentHandlerOptions): ConversationHandler {
  const { runner, logger } = deps
  const recentMessages = options.recentMessages ?? 50
  const memoryMatches = options.memoryMatches ?? 8
  /** Conversation id → this machine's Claude session id of it. */
  const sessions = new Map<string, string>()

  const contextFor = (message: Message, ctx: HandlerContext): string => {
    const person = message.personId === null ? undefined : deps.person(message.personId)
    let memories: ContextMemory[] = []
    try {
      memories = deps.memories(message.text, memoryMatches)
    } catch (err) {
      logger.debug({ code: (err as { code?: string }).code, conversationId: message.conversationId }, 'no memory matches for the context')
    }
    const recent = ctx
      .history(recentMessages + 1)
      .filter((m) => m.id !== message.id && m.at <= message.at)
      .slice(-recentMessages)
      .map((m) => ({ direction: m.direction, text: m.text, at: m.at }))
    const channel = `You are talking through ${ctx.conversation.channel}${ctx.conversation.title === '' ? '' : ` (${ctx.conversation.title})`}; the conversation's id is ${ctx.conversation.id}. Your answer is sent as your reply.`
    return assembleContext({ identity: [deps.identity(), channel].filter((s) => s.trim() !== '').join('\n\n'), person: person === undefined ? null : contextPerson(person), memories, recent }, options.contextBudget)
  }

  const turn = async (message: Message, ctx: HandlerContext, resume: string | undefined): Promise<HandlerReply[]> => {
    const key = message.conversationId
    const result = await runner.run(
      resume === undefined ? { key, prompt: message.text, systemPrompt: contextFor(message, ctx) } : { key, resume, prompt: message.text },
      { signal: ctx.signal },
    )
    sessions.set(key, result.sessionId)
    logger.info({ conversationId: key, sessionId: result.sessionId, warm: result.warm, costUsd: result.costUsd, ms: result.endedAt - result.startedAt }, 'the agent answered')
    const text = result.text.trim()
    return text === '' ? [] : [{ text, format: 'markdown' }]
  }

  /** Resumes the conversation's session; one this machine can no longer resume (its transcript gone) gives way to a new one, seeded from shared state. */
  const resumeOrStart = async (message: Message, ctx: HandlerContext): Promise<HandlerReply[]> => {
    const resume = sessions.get(message.conversationId)
    if (resume === undefined) return turn(message, ctx, undefined)
    try {
      return await turn(message, ctx, resume)
    } catch (err) {
      if (!(err instanceof SessionError) || err.code !== 'SESSION_CRASHED' || ctx.signal.aborted) throw err
      logger.warn({ code: err.code, conversationId: message.conversationId, sessionId: resume }, 'resuming the session failed; starting a new one')
      sessions.delete(message.conversationId)
      return turn(message, ctx, undefined)
    }
  }

  return {
    async handle(message, ctx) {
      try {
        return await resumeOrStart(message, ctx)
      } catch (err) {
        if (err instanceof SessionError && NOTICE_CODES.has(err.code)) {
          logger.warn({ code: err.code, conversationId: message.conversationId }, 'the agent cannot answer here; the person is told')
          return [{ text: noticeOf(err, deps.machine), format: 'text' }]
        }
        throw err
      }
    },
  }
}
