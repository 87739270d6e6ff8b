#!/usr/bin/env node
/**
 * A stand-in for the Claude Code CLI (`claude`), chosen by `sessions.command` in tests and
 * benches. It speaks the real CLI's print mode: `-p --output-format stream-json --verbose
 * --input-format stream-json`, a `system`/`init` event first, then for each user message on
 * stdin an `assistant` event and a `result` event; it exits when stdin ends. `--session-id`
 * starts a session and `--resume` continues one it knows (kept under FAKE_CLAUDE_DIR), as the
 * real CLI keeps transcripts. It records each start (argv, pid) and each message it reads in
 * FAKE_CLAUDE_DIR/calls.jsonl.
 *
 * A message's text steers it:
 *   #slow MS     answer after MS milliseconds      #hang       never answer
 *   #crash       exit 3 mid-turn, no result        #garbage    write a line that is not JSON
 *   #limit       a usage-limit error result        #login      a not-logged-in error result
 *   #child       start a child that sleeps, answer with its pid (a process group test)
 *   #text WORDS  answer WORDS                      otherwise   "echo: <text> (turn N)"
 */
import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const argv = process.argv.slice(2)
const dir = process.env.FAKE_CLAUDE_DIR
const record = (entry) => {
  if (dir !== undefined) appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify({ pid: process.pid, ...entry })}\n`)
}
const flag = (name) => {
  const i = argv.indexOf(name)
  return i < 0 ? undefined : argv[i + 1]
}

if (argv.includes('--version')) {
  process.stdout.write('2.1.328 (Claude Code)\n')
  process.exit(0)
}
if (argv.includes('--help')) {
  process.stdout.write(['Usage: claude [options] [command] [prompt]', '', 'Options:',
    '  -p, --print                       Print response and exit',
    '  --output-format <format>          "text", "json" or "stream-json"',
    '  --input-format <format>           "text" or "stream-json"',
    '  --verbose                         Override verbose mode setting from config',
    '  --session-id <uuid>               Use a specific session ID for the conversation',
    '  -r, --resume [value]              Resume a conversation by session ID',
    '  --fork-session                    When resuming, create a new session ID',
    '  --append-system-prompt <prompt>   Append a system prompt to the default system prompt',
    '  --mcp-config <configs...>         Load MCP servers from JSON files or strings',
    '  --model <model>                   Model for the current session',
    '  --permission-mode <mode>          Permission mode to use for the session',
    '  --max-budget-usd <amount>         Maximum dollar amount to spend on API calls',
    ''].join('\n'))
  process.exit(0)
}

record({ argv })
const fail = (text) => {
  process.stderr.write(`Error: ${text}\n`)
  process.exit(1)
}
if (!argv.includes('-p')) fail('the stand-in runs in print mode only (-p)')
if (flag('--output-format') !== 'stream-json') fail('--output-format stream-json is required')
if (!argv.includes('--verbose')) fail('When using --print, --output-format=stream-json requires --verbose')
if (flag('--input-format') !== 'stream-json') fail('--input-format stream-json is required')

const resumed = flag('--resume')
const sessionId = resumed ?? flag('--session-id')
if (sessionId === undefined) fail('no --session-id or --resume')
const transcript = dir === undefined ? undefined : join(dir, 'sessions', `${sessionId}.json`)
let turns = 0
if (resumed !== undefined) {
  if (transcript === undefined || !existsSync(transcript)) {
    process.stdout.write(`${JSON.stringify({ type: 'result', subtype: 'error_during_execution', is_error: true, result: `No conversation found with session ID: ${resumed}`, session_id: resumed })}\n`)
    process.exit(1)
  }
  turns = JSON.parse(readFileSync(transcript, 'utf8')).turns
}
const model = flag('--model') ?? 'claude-stand-in'
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`)
emit({ type: 'system', subtype: 'init', session_id: sessionId, model, cwd: process.cwd(), tools: [] })

const answer = (text) => {
  turns++
  if (transcript !== undefined) {
    mkdirSync(join(dir, 'sessions'), { recursive: true })
    writeFileSync(transcript, JSON.stringify({ turns }))
  }
  emit({ type: 'assistant', session_id: sessionId, message: { role: 'assistant', content: [{ type: 'text', text }] } })
  emit({ type: 'result', subtype: 'success', is_error: false, result: text, session_id: sessionId, total_cost_usd: 0.0012, duration_ms: 5, num_turns: turns, usage: { input_tokens: 12, output_tokens: 7, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } })
}

let queue = Promise.resolve()
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  queue = queue.then(() => handle(line))
})
lines.on('close', () => {
  void queue.then(() => process.exit(0))
})

async function handle(line) {
  if (line.trim() === '') return
  const message = JSON.parse(line)
  const text = message.message.content.map((b) => b.text ?? '').join('')
  record({ stdin: text })
  const slow = /#slow (\d+)/.exec(text)
  if (slow !== null) await new Promise((resolve) => setTimeout(resolve, Number(slow[1])))
  if (text.includes('#hang')) await new Promise(() => setInterval(() => undefined, 60_000))
  if (text.includes('#crash')) {
    process.stderr.write('stand-in crashing on cue\n')
    process.exit(3)
  }
  if (text.includes('#garbage')) {
    process.stdout.write('this is not json\n')
    return
  }
  if (text.includes('#limit')) {
    emit({ type: 'result', subtype: 'success', is_error: true, result: `Claude AI usage limit reached|${Math.floor(Date.UTC(2030, 0, 1) / 1000)}`, session_id: sessionId })
    return
  }
  if (text.includes('#login')) {
    emit({ type: 'result', subtype: 'success', is_error: true, result: 'Invalid API key · Please run /login', session_id: sessionId })
    return
  }
  if (text.includes('#child')) {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' })
    answer(`child ${child.pid}`)
    return
  }
  const say = /#text (.*)$/s.exec(text)
  answer(say !== null ? say[1] : `echo: ${text} (turn ${turns + 1})`)
}
