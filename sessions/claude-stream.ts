/**
 * Claude Code's stream-json output (`claude -p --output-format stream-json --verbose`), read
 * one line at a time. Each line is one JSON object with a `type`:
 *
 *   system     subtype `init` first, with `session_id` (and model, tools, cwd)
 *   assistant  `message.content`: blocks; the `text` blocks are what the agent said
 *   user       tool results fed back (not ours to read)
 *   result     last of a turn: `subtype` (`success`, `error_max_turns`, `error_during_execution`,
 *              ...), `is_error`, `result` (the text), `session_id`, `total_cost_usd`, `usage`,
 *              `duration_ms`, `num_turns`
 *
 * Other types (stream events, hooks, retries) and fields are passed over: the CLI adds them
 * between versions. A line that is not JSON, is over MAX_STREAM_LINE, or has a known type in a
 * shape we cannot read is an error for the caller, who ends the session as crashed. Pure.
 */
import { z } from 'zod'

/** One line past this is not read (the CLI writes one message per line; a turn's text fits well under it). */
export const MAX_STREAM_LINE = 8 * 1024 * 1024

export interface StreamUsage {
  inputTokens: number
  outputTokens: number
  cacheReadTokens: number
  cacheCreationTokens: number
}

export type StreamEvent =
  | { type: 'init'; sessionId: string; model: string | null }
  | { type: 'assistant'; sessionId: string | null; text: string }
  | { type: 'result'; sessionId: string | null; isError: boolean; subtype: string; text: string; costUsd: number | null; durationMs: number | null; numTurns: number | null; usage: StreamUsage | null }
  | { type: 'other'; kind: string }

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const sessionId = z.string().min(1).max(200)
const usageSchema = z.object({
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  cache_read_input_tokens: count.optional(),
  cache_creation_input_tokens: count.optional(),
})
const initSchema = z.object({ type: z.literal('system'), subtype: z.literal('init'), session_id: sessionId, model: z.string().max(200).optional() })
const block = z.object({ type: z.string(), text: z.string().optional() })
const assistantSchema = z.object({ type: z.literal('assistant'), session_id: sessionId.optional(), message: z.object({ content: z.union([z.string(), z.array(block)]) }) })
const resultSchema = z.object({
  type: z.literal('result'),
  subtype: z.string().max(100),
  is_error: z.boolean().optional(),
  result: z.string().optional(),
  session_id: sessionId.optional(),
  total_cost_usd: z.number().nonnegative().finite().optional(),
  duration_ms: count.optional(),
  num_turns: count.optional(),
  usage: usageSchema.optional(),
})

export class StreamLineError extends Error {
  constructor(reason: string) {
    super(`unreadable stream-json line: ${reason}`)
    this.name = 'StreamLineError'
  }
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ')
}

/** Reads one output line; throws StreamLineError for one we cannot read. An empty line is null. */
export function parseStreamLine(line: string): StreamEvent | null {
  if (line.trim() === '') return null
  if (line.length > MAX_STREAM_LINE) throw new StreamLineError(`${line.length} characters (at most ${MAX_STREAM_LINE})`)
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    // The parser's message names a position in text that may be the agent's: say only what failed.
    throw new StreamLineError('not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StreamLineError('not a JSON object')
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') throw new StreamLineError('no type')
  if (type === 'system') {
    if ((value as { subtype?: unknown }).subtype !== 'init') return { type: 'other', kind: 'system' }
    const parsed = initSchema.safeParse(value)
    if (!parsed.success) throw new StreamLineError(`system init: ${issues(parsed.error)}`)
    return { type: 'init', sessionId: parsed.data.session_id, model: parsed.data.model ?? null }
  }
  if (type === 'assistant') {
    const parsed = assistantSchema.safeParse(value)
    if (!parsed.success) throw new StreamLineError(`assistant: ${issues(parsed.error)}`)
    const content = parsed.data.message.content
    const text = typeof content === 'string' ? content : content.flatMap((b) => (b.type === 'text' && b.text !== undefined ? [b.text] : [])).join('')
    return { type: 'assistant', sessionId: parsed.data.session_id ?? null, text }
  }
  if (type === 'result') {
    const parsed = resultSchema.safeParse(value)
    if (!parsed.success) throw new StreamLineError(`result: ${issues(parsed.error)}`)
    const r = parsed.data
    const usage = r.usage === undefined ? null : { inputTokens: r.usage.input_tokens ?? 0, outputTokens: r.usage.output_tokens ?? 0, cacheReadTokens: r.usage.cache_read_input_tokens ?? 0, cacheCreationTokens: r.usage.cache_creation_input_tokens ?? 0 }
    return { type: 'result', sessionId: r.session_id ?? null, isError: r.is_error ?? r.subtype !== 'success', subtype: r.subtype, text: r.result ?? '', costUsd: r.total_cost_usd ?? null, durationMs: r.duration_ms ?? null, numTurns: r.num_turns ?? null, usage }
  }
  return { type: 'other', kind: type.slice(0, 40) }
}

/** One user message as `--input-format stream-json` reads it on stdin, with its newline. */
export function encodeUserMessage(text: string): string {
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content: [{ type: 'text', text }] } })}\n`
}
