/**
 * The Telegram channel with real grammy against the Bot API stand-in, on one real node (solo
 * mode: it leads at once) with its agent state in a real SQLite file.
 */
import { describe, expect, it } from 'vitest'
import { TELEGRAM_TOKEN_SECRET, createTelegramChannel } from '../../channels/index.js'
import { createManualClock, silentLogger } from '../../runtime/index.js'
import { withState, type StatefulNode } from '../support/agent-state.js'
import { startBotApiStandIn, type StandIn } from '../support/bot-api-standin.js'
import { configureTelegram, echoHandler, startChannels } from '../support/channel-node.js'
import { startTestNode } from '../support/mesh-nodes.js'
import { waitFor } from '../support/wait-for.js'

async function soloWithTelegram(allow = ['42']): Promise<{ node: StatefulNode; standIn: StandIn }> {
  const standIn = await startBotApiStandIn()
  const node = await withState(await startTestNode({ name: 'solo', founder: true }))
  await waitFor(() => node.node.mesh.leader().role === 'leader', { timeoutMs: 10_000, what: 'solo leader' })
  configureTelegram(node.state, standIn, allow)
  return { node, standIn }
}

const echoes = (standIn: StandIn, chatId = '42') => standIn.sent.filter((m) => m.chatId === chatId && m.text.startsWith('echo: ')).map((m) => m.text)

describe('telegram channel', () => {
  it('records each inbound message once, hands it over once, answers it, and moves the offset past it', async () => {
    const { node, standIn } = await soloWithTelegram()
    const { telegram } = startChannels(node, echoHandler)
    for (let i = 0; i < 5; i++) standIn.pushMessage({ chatId: 42, userId: 42, text: `m${i}` })
    await waitFor(() => echoes(standIn).length === 5, { timeoutMs: 15_000, what: 'five echoes' })
    expect(echoes(standIn)).toEqual(['echo: m0', 'echo: m1', 'echo: m2', 'echo: m3', 'echo: m4'])
    const conv = node.state.conversations
    const messages = conv.messages('telegram:42', { limit: 100 })
    expect(messages.filter((m) => m.direction === 'in')).toHaveLength(5)
    expect(messages.filter((m) => m.direction === 'out')).toHaveLength(5)
    await waitFor(() => conv.counts('telegram').inbox.handled === 5 && standIn.pending() === 0, { timeoutMs: 10_000, what: 'handled and confirmed' })
    expect(conv.counts('telegram').outbox).toEqual({ queued: 0, sending: 0, sent: 5, failed: 0 })
    // Replies go to the message they answer.
    expect(standIn.sent.every((s) => s.replyTo !== null && s.parseMode === 'HTML')).toBe(true)
    expect(node.state.relationships.resolve({ platform: 'telegram', value: '42' })?.displayName).toBe('Ada')
    expect(telegram.stats().conflicts).toBe(0)
    expect(standIn.stats.conflicts).toBe(0)
    expect(node.state.channels.health('telegram')?.poller).toBe(node.node.mesh.peerId)
  })

  it('holds an unknown sender, answers them once, and tells the owner once with the commands', async () => {
    const { node, standIn } = await soloWithTelegram(['42'])
    startChannels(node, echoHandler)
    standIn.pushMessage({ chatId: 99, userId: 99, text: 'hello?', firstName: 'Eve' })
    standIn.pushMessage({ chatId: 99, userId: 99, text: 'anyone?', firstName: 'Eve' })
    const conv = node.state.conversations
    await waitFor(() => conv.counts('telegram').inbox.held === 2 && standIn.sent.length === 2, { timeoutMs: 15_000, what: 'held and answered' })
    await waitFor(() => standIn.pending() === 0, { timeoutMs: 10_000, what: 'confirmed' })
    expect(standIn.sent.filter((s) => s.chatId === '99')).toHaveLength(1)
    const notice = standIn.sent.find((s) => s.chatId === '42')
    expect(notice?.text).toContain('instar channels allow 99')
    expect(notice?.text).toContain('instar channels block 99')
    expect(echoes(standIn, '99')).toEqual([])
    // Allowed later: the next message is answered.
    node.state.channels.setAllowed('telegram', '99', true, Date.now())
    standIn.pushMessage({ chatId: 99, userId: 99, text: 'now?', firstName: 'Eve' })
    await waitFor(() => echoes(standIn, '99').length === 1, { timeoutMs: 15_000, what: 'echo once allowed' })
  })

  it('waits out a 429 retry_after in a chat, and rides out 5xx answers and dropped connections', async () => {
    const { node, standIn } = await soloWithTelegram()
    standIn.switches.rateLimit.set('42', { retryAfterS: 1, times: 1 })
    standIn.switches.fail5xx = 3
    standIn.switches.dropConnections = 2
    startChannels(node, echoHandler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'one' })
    await waitFor(() => echoes(standIn).length === 1, { timeoutMs: 20_000, what: 'echo despite 429, 5xx and drops' })
    expect(standIn.switches.rateLimit.get('42')?.times).toBe(0)
    // The stand-in holds the message a moment before the sender reads its answer and marks the item sent.
    await waitFor(() => node.state.conversations.counts('telegram').outbox.sent === 1, { timeoutMs: 10_000, what: 'the item marked sent' })
    expect(node.state.conversations.counts('telegram').outbox).toMatchObject({ queued: 0, sending: 0, sent: 1, failed: 0 })
  })

  it('refuses a malformed update, passes it by the offset, and keeps polling', async () => {
    const { node, standIn } = await soloWithTelegram()
    const { telegram } = startChannels(node, echoHandler)
    standIn.pushRaw({ update_id: 5, message: { message_id: 'x', chat: 'not a chat', date: -1 } })
    standIn.pushRaw({ update_id: 6, message: { message_id: 1, from: { id: 42, is_bot: false, first_name: 'A'.repeat(10_000) }, chat: { id: 42, type: 'private' }, date: 1, text: 'x' } })
    await waitFor(() => telegram.stats().malformed === 2, { timeoutMs: 15_000, what: 'two refused updates' })
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'still there?' })
    await waitFor(() => echoes(standIn).length === 1, { timeoutMs: 15_000, what: 'echo after the malformed updates' })
    expect(node.state.conversations.counts('telegram').inbox.received + node.state.conversations.counts('telegram').inbox.handled).toBe(1)
  })

  it('puts each forum topic in its own conversation and replies into that topic', async () => {
    const { node, standIn } = await soloWithTelegram()
    startChannels(node, echoHandler)
    standIn.pushMessage({ chatId: -1001, userId: 42, text: 'in topic 5', topicId: 5, chatType: 'supergroup' })
    standIn.pushMessage({ chatId: -1001, userId: 42, text: 'in topic 6', topicId: 6, chatType: 'supergroup' })
    await waitFor(() => standIn.sent.length === 2, { timeoutMs: 15_000, what: 'two topic replies' })
    expect(standIn.sent.map((s) => s.topicId).sort()).toEqual([5, 6])
    const ids = node.state.conversations.listConversations().map((c) => c.id).sort()
    expect(ids).toEqual(['telegram:-1001:5', 'telegram:-1001:6'])
  })

  it('polls nothing while the channel is not set up', async () => {
    const standIn = await startBotApiStandIn()
    const node = await withState(await startTestNode({ name: 'solo', founder: true }))
    await waitFor(() => node.node.mesh.leader().role === 'leader', { timeoutMs: 10_000, what: 'solo leader' })
    startChannels(node, echoHandler)
    standIn.pushMessage({ chatId: 42, userId: 42, text: 'early' })
    // Once set up, it picks up the update that waited.
    expect(standIn.stats.getUpdates).toBe(0)
    configureTelegram(node.state, standIn, ['42'])
    await waitFor(() => echoes(standIn).length === 1, { timeoutMs: 15_000, what: 'echo once set up' })
  })

  it('long-polls for as long as the lease is renewed, and closes the poll a margin before an unrenewed lease ends', async () => {
    const { node, standIn } = await soloWithTelegram()
    const clock = createManualClock(Date.now())
    const { state } = node
    const channel = createTelegramChannel(
      {
        conversations: state.conversations,
        channels: state.channels,
        relationships: state.relationships,
        token: () => state.secrets.get(TELEGRAM_TOKEN_SECRET),
        committed: () => Promise.resolve(),
        clock,
        logger: silentLogger,
        self: node.node.mesh.peerId,
      },
      { longPollS: 25, leaseMarginMs: 100 },
    )
    // A 350 ms lease (the default election timing), renewed by hand every 50 ms.
    let lease = clock.now() + 350
    const term = new AbortController()
    const receiving = channel.receive({ term: 1, signal: term.signal, fence: () => undefined, leaseExpiresAt: () => lease })
    await waitFor(() => standIn.polling(), { timeoutMs: 10_000, what: 'the long poll' })
    for (let i = 0; i < 20; i++) {
      clock.advance(50)
      lease = clock.now() + 350
    }
    // A second past the first lease's end: still the one long poll.
    expect(standIn.stats.getUpdates).toBe(1)
    expect(standIn.polling()).toBe(true)
    // No renewal: 250 ms on, the lease has the margin left and the poll is closed.
    clock.advance(249)
    expect(standIn.polling()).toBe(true)
    clock.advance(1)
    await waitFor(() => !standIn.polling(), { timeoutMs: 10_000, what: 'the poll closed at the margin' })
    // And none opened again while the lease stays unrenewed.
    expect(standIn.stats.getUpdates).toBe(1)
    term.abort(new Error('term over'))
    clock.advance(1000)
    await receiving
    expect(standIn.stats.getUpdates).toBe(1)
  })
})
