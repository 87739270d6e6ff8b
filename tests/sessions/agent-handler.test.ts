/**
 * The agent answers on the phone: a Telegram message (real grammy against the Bot API
 * stand-in) is handed by the pipeline of a real node to the agent handler, which runs a turn
 * of a Claude Code session (the real runner, the stand-in CLI as a child process), and the
 * session's answer goes back to the chat once.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createNodeAgentHandler } from '../../node/agent-handler.js'
import { createSystemClock, silentLogger } from '../../runtime/index.js'
import { createClaudeRunner, type ClaudeRunnerOptions } from '../../sessions/index.js'
import { withState, type StatefulNode } from '../support/agent-state.js'
import { startBotApiStandIn, type StandIn } from '../support/bot-api-standin.js'
import { configureTelegram, startChannels } from '../support/channel-node.js'
import { startTestNode } from '../support/mesh-nodes.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const FAKE = fileURLToPath(new URL('../support/fake-claude.mjs', import.meta.url))

interface Call {
  pid: number
  argv?: string[]
  stdin?: string
}

async function soloWithTelegram(): Promise<{ node: StatefulNode; standIn: StandIn }> {
  const standIn = await startBotApiStandIn()
  const node = await withState(await startTestNode({ name: 'solo', founder: true }))
  await waitFor(() => node.node.mesh.leader().role === 'leader', { timeoutMs: 10_000, what: 'solo leader' })
  configureTelegram(node.state, standIn, ['42'])
  return { node, standIn }
}

/** The agent handler of `node` on a runner of the stand-in CLI; `dir` holds its calls.jsonl. */
function agentOf(node: StatefulNode, options: Partial<ClaudeRunnerOptions> = {}, dir = tempDir('instar-agent-')) {
  const runner = createClaudeRunner({ clock: createSystemClock(), logger: silentLogger }, { command: FAKE, logDir: join(dir, 'logs'), env: { ...process.env, FAKE_CLAUDE_DIR: dir }, warmTtlMs: 0, ...options })
  onTestFinished(() => runner.stop())
  const handler = createNodeAgentHandler({ runner, state: node.state, logger: silentLogger, machine: 'solo', agentName: 'kira', contextBudget: 20_000 })
  const calls = (): Call[] => (existsSync(join(dir, 'calls.jsonl')) ? readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call) : [])
  const starts = (): string[][] => calls().flatMap((c) => (c.argv === undefined ? [] : [c.argv]))
  return { handler, runner, dir, starts }
}

const flagOf = (argv: string[] | undefined, name: string): string | undefined => {
  const i = argv?.indexOf(name) ?? -1
  return i < 0 ? undefined : argv?.[i + 1]
}
const toChat = (standIn: StandIn, chatId = '42'): string[] => standIn.sent.filter((m) => m.chatId === chatId).map((m) => m.text)

describe('the agent as the conversation handler', () => {
  it('answers a message in a new session told the context, and the next one in the same session, each once', async () => {
    const { node, standIn } = await soloWithTelegram()
    node.state.memory.add({ text: 'Ada keeps rabbits named Pixel and Byte', topic: 'people', author: 'test' }, Date.now())
    node.state.memory.add({ text: 'the boiler is serviced in March', topic: 'house', author: 'test' }, Date.now())
    await node.state.memoryIndex.filled()
    const { handler, starts } = agentOf(node)
    startChannels(node, handler)

    standIn.pushMessage({ chatId: 42, userId: 42, text: 'how are my rabbits?' })
    await waitFor(() => toChat(standIn).length === 1, { timeoutMs: 20_000, what: 'the first answer' })
    expect(toChat(standIn)).toEqual(['echo: how are my rabbits? (turn 1)'])
    const first = starts()[0]
    const sessionId = flagOf(first, '--session-id')
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/)
    const context = flagOf(first, '--append-system-prompt') ?? ''
    expect(context).toContain('You are kira')
    expect(context).toContain('You are talking through telegram')
    expect(context).toContain('Ada')
    expect(context).toContain('rabbits named Pixel and Byte')
    expect(context).not.toContain('boiler')

    standIn.pushMessage({ chatId: 42, userId: 42, text: 'and their names?' })
    await waitFor(() => toChat(standIn).length === 2, { timeoutMs: 20_000, what: 'the second answer' })
    // The same session, resumed: the stand-in counts the turns of the transcript it keeps.
    expect(toChat(standIn)[1]).toBe('echo: and their names? (turn 2)')
    const second = starts()[1]
    expect(flagOf(second, '--resume')).toBe(sessionId)
    expect(second).not.toContain('--append-system-prompt')
    await waitFor(() => node.state.conversations.counts('telegram').outbox.sent === 2, { timeoutMs: 10_000, what: 'both replies marked sent' })
    expect(node.state.conversations.counts('telegram').inbox).toMatchObject({ received: 0, handled: 2 })
    expect(standIn.sent).toHaveLength(2)
  })

  it('sends later messages of a conversation to its warm session on stdin', async () => {
    const { node, standIn } = await soloWithTelegram()
    const { handler, starts } = agentOf(node, { warmTtlMs: 60_000 })
    startChannels(node, handler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'one' })
    await waitFor(() => toChat(standIn).length === 1, { timeoutMs: 20_000, what: 'the first answer' })
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'two' })
    await waitFor(() => toChat(standIn).length === 2, { timeoutMs: 20_000, what: 'the second answer' })
    expect(toChat(standIn)).toEqual(['echo: one (turn 1)', 'echo: two (turn 2)'])
    expect(starts()).toHaveLength(1)
  })

  it('seeds a new session with the conversation so far when another machine (a new handler) takes the conversation over', async () => {
    const { node, standIn } = await soloWithTelegram()
    const before = startChannels(node, agentOf(node).handler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'remember the word teapot' })
    await waitFor(() => toChat(standIn).length === 1, { timeoutMs: 20_000, what: 'the first answer' })
    await waitFor(() => node.state.conversations.counts('telegram').outbox.sent === 1, { timeoutMs: 10_000, what: 'the reply marked sent' })
    before.stop()

    // A handler with no sessions of this conversation, as on the machine that leads next.
    const next = agentOf(node)
    startChannels(node, next.handler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'which word?' })
    await waitFor(() => toChat(standIn).length === 2, { timeoutMs: 20_000, what: 'the answer after the take-over' })
    expect(toChat(standIn)[1]).toBe('echo: which word? (turn 1)')
    const context = flagOf(next.starts()[0], '--append-system-prompt') ?? ''
    expect(context).toContain('# The conversation so far')
    expect(context).toContain('remember the word teapot')
    expect(context).toContain('echo: remember the word teapot (turn 1)')
    expect(context).not.toContain('which word?')
  })

  it('tells the person once when claude cannot answer here (not logged in), instead of retrying or staying silent', async () => {
    const { node, standIn } = await soloWithTelegram()
    const { handler, starts } = agentOf(node)
    startChannels(node, handler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: '#login' })
    await waitFor(() => toChat(standIn).length === 1, { timeoutMs: 20_000, what: 'the notice' })
    expect(toChat(standIn)[0]).toContain('Claude Code is not logged in on solo')
    await waitFor(() => node.state.conversations.counts('telegram').inbox.handled === 1, { timeoutMs: 10_000, what: 'handled' })
    expect(starts()).toHaveLength(1)
  })

  it('starts a new session, seeded from shared state, when the one it would resume is gone', async () => {
    const { node, standIn } = await soloWithTelegram()
    const dir = tempDir('instar-agent-')
    const { handler, starts } = agentOf(node, {}, dir)
    startChannels(node, handler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'first' })
    await waitFor(() => toChat(standIn).length === 1, { timeoutMs: 20_000, what: 'the first answer' })
    const sessionId = flagOf(starts()[0], '--session-id') ?? ''
    // The transcript the stand-in keeps (as Claude keeps one per session on disk) is lost.
    const transcripts = join(dir, 'sessions')
    expect(existsSync(transcripts)).toBe(true)
    const { rmSync } = await import('node:fs')
    rmSync(transcripts, { recursive: true, force: true })
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'second' })
    await waitFor(() => toChat(standIn).length === 2, { timeoutMs: 20_000, what: 'the second answer' })
    expect(toChat(standIn)[1]).toBe('echo: second (turn 1)')
    expect(flagOf(starts()[1], '--resume')).toBe(sessionId)
    expect(flagOf(starts()[2], '--session-id')).not.toBe(sessionId)
    expect(flagOf(starts()[2], '--append-system-prompt')).toContain('first')
  })
})
