import { describe, expect, it } from 'vitest'
import { CLAUDE_FLAGS, MAX_STREAM_LINE, claudeArgv, classifyFailure, encodeUserMessage, parseStreamLine } from '../../sessions/index.js'
import { mulberry32 } from '../support/seeded-random.js'

describe('parseStreamLine', () => {
  it('reads the init event with its session id and model', () => {
    expect(parseStreamLine(JSON.stringify({ type: 'system', subtype: 'init', session_id: 's1', model: 'opus', tools: ['Bash'], cwd: '/x' }))).toEqual({ type: 'init', sessionId: 's1', model: 'opus' })
  })

  it('joins the text blocks of an assistant message and passes over tool use', () => {
    const line = JSON.stringify({ type: 'assistant', session_id: 's1', message: { content: [{ type: 'text', text: 'a' }, { type: 'tool_use', id: 't', name: 'Bash', input: {} }, { type: 'text', text: 'b' }] } })
    expect(parseStreamLine(line)).toEqual({ type: 'assistant', sessionId: 's1', text: 'ab' })
  })

  it('reads a result with its cost, usage and turns', () => {
    const line = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'done', session_id: 's1', total_cost_usd: 0.25, duration_ms: 900, num_turns: 3, usage: { input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 2 } })
    expect(parseStreamLine(line)).toEqual({ type: 'result', sessionId: 's1', isError: false, subtype: 'success', text: 'done', costUsd: 0.25, durationMs: 900, numTurns: 3, usage: { inputTokens: 10, outputTokens: 4, cacheReadTokens: 2, cacheCreationTokens: 0 } })
  })

  it('takes an error subtype without is_error as an error', () => {
    expect(parseStreamLine(JSON.stringify({ type: 'result', subtype: 'error_max_turns', session_id: 's' }))).toMatchObject({ type: 'result', isError: true, subtype: 'error_max_turns' })
  })

  it('passes over types and system subtypes it does not know, and empty lines', () => {
    expect(parseStreamLine(JSON.stringify({ type: 'stream_event', event: {} }))).toEqual({ type: 'other', kind: 'stream_event' })
    expect(parseStreamLine(JSON.stringify({ type: 'system', subtype: 'hook_response' }))).toEqual({ type: 'other', kind: 'system' })
    expect(parseStreamLine('   ')).toBeNull()
  })

  it('refuses what it cannot read, saying what was wrong', () => {
    expect(() => parseStreamLine('not json')).toThrow(/not JSON/)
    expect(() => parseStreamLine('[1]')).toThrow(/not a JSON object/)
    expect(() => parseStreamLine('{"a":1}')).toThrow(/no type/)
    expect(() => parseStreamLine(JSON.stringify({ type: 'system', subtype: 'init' }))).toThrow(/session_id/)
    expect(() => parseStreamLine(JSON.stringify({ type: 'result', subtype: 'success', total_cost_usd: -1 }))).toThrow(/total_cost_usd/)
    expect(() => parseStreamLine(JSON.stringify({ type: 'assistant', message: { content: 5 } }))).toThrow(/assistant/)
    expect(() => parseStreamLine(`{"type":"assistant","x":"${'a'.repeat(MAX_STREAM_LINE)}"}`)).toThrow(/at most/)
  })

  it('never throws anything but its own error on seeded garbage (FUZZ_SEED replays)', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261202)
    const random = mulberry32(seed)
    const samples = [
      JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'x', session_id: 's', usage: { input_tokens: 1 } }),
      JSON.stringify({ type: 'system', subtype: 'init', session_id: 's' }),
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'hi' }] } }),
    ]
    for (let i = 0; i < 3000; i++) {
      const base = samples[Math.floor(random() * samples.length)] as string
      const chars = [...base]
      for (let n = Math.floor(random() * 4) + 1; n > 0; n--) chars[Math.floor(random() * chars.length)] = String.fromCharCode(Math.floor(random() * 128))
      try {
        parseStreamLine(chars.join(''))
      } catch (err) {
        expect((err as Error).name, `seed ${seed}, case ${i}`).toBe('StreamLineError')
      }
    }
  })
})

describe('encodeUserMessage', () => {
  it('writes one stream-json user message on one line, whatever the text holds', () => {
    const line = encodeUserMessage('two\nlines and "quotes"')
    expect(line.endsWith('\n')).toBe(true)
    expect(line.slice(0, -1).includes('\n')).toBe(false)
    expect(JSON.parse(line)).toEqual({ type: 'user', message: { role: 'user', content: [{ type: 'text', text: 'two\nlines and "quotes"' }] } })
  })
})

describe('claudeArgv', () => {
  it('starts a new session with its id and reads messages from stdin', () => {
    expect(claudeArgv({ session: { new: 'u-1' } }, {})).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--session-id', 'u-1'])
  })

  it('resumes, appends the context, and passes the settings, the turn model winning', () => {
    const argv = claudeArgv({ session: { resume: 's-9' }, systemPrompt: 'You are kira.', model: 'opus' }, { model: 'sonnet', permissionMode: 'acceptEdits', mcpConfigPath: '/h/mcp.json', maxBudgetUsd: 2, extraArgs: ['--fork-session'] })
    expect(argv.slice(6)).toEqual(['--resume', 's-9', '--append-system-prompt', 'You are kira.', '--mcp-config', '/h/mcp.json', '--model', 'opus', '--permission-mode', 'acceptEdits', '--max-budget-usd', '2', '--fork-session'])
  })

  it('uses only the flags it declares', () => {
    const argv = claudeArgv({ session: { resume: 's' }, systemPrompt: 'x' }, { model: 'm', permissionMode: 'p', mcpConfigPath: 'c', maxBudgetUsd: 1 })
    for (const arg of argv.filter((a) => a.startsWith('-'))) expect(CLAUDE_FLAGS as readonly string[]).toContain(arg)
  })
})

describe('classifyFailure', () => {
  it('knows a missing login', () => {
    expect(classifyFailure('Invalid API key · Please run /login', 'success')).toEqual({ kind: 'not-logged-in' })
    expect(classifyFailure('OAuth token has expired. Please obtain a new token', '')).toEqual({ kind: 'not-logged-in' })
  })

  it('knows a usage limit, with its reset when given in Unix seconds', () => {
    expect(classifyFailure('Claude AI usage limit reached|1893456000', 'success')).toEqual({ kind: 'usage-limit', resetAt: 1893456000_000 })
    expect(classifyFailure('5-hour limit reached ∙ resets 3pm', 'success')).toEqual({ kind: 'usage-limit', resetAt: null })
  })

  it('names anything else by its subtype', () => {
    expect(classifyFailure('something broke', 'error_during_execution')).toEqual({ kind: 'error', reason: 'it reported error_during_execution' })
  })
})
