import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createChannelsModel } from '../../crdt/channels-model.js'
import { createConversationsModel } from '../../crdt/conversations-model.js'
import { codeAndField, sync } from '../support/model-docs.js'

const NOW = Date.UTC(2030, 0, 1)
const DAY = 86_400_000

function withConversation() {
  const doc = new Y.Doc()
  const model = createConversationsModel(doc)
  model.ensureConversation({ id: 'telegram:42', channel: 'telegram', ref: { chatId: '42', topicId: null }, title: 'Ada', personId: 'p1' }, NOW)
  return { doc, model }
}

const inbound = (n: number, at = NOW + n) => ({ id: `telegram:7:${n}`, conversationId: 'telegram:42', platformId: String(n), personId: 'p1', text: `m${n}`, at })

describe('conversations model', () => {
  it('records an inbound message once, by its id, with its inbox state', () => {
    const { model } = withConversation()
    expect(model.recordInbound(inbound(1))).toBe(true)
    expect(model.recordInbound({ ...inbound(1), text: 'changed' })).toBe(false)
    expect(model.message('telegram:7:1')?.text).toBe('m1')
    expect(model.inboxState('telegram:7:1')).toEqual({ state: 'received', at: NOW + 1 })
    expect(model.received()).toEqual(['telegram:7:1'])
  })

  it('lists the last messages of a conversation in time order, whatever order they came in', () => {
    const { model } = withConversation()
    for (const n of [3, 1, 2, 5, 4]) model.recordInbound(inbound(n))
    expect(model.messages('telegram:42', { limit: 3 }).map((m) => m.id)).toEqual(['telegram:7:3', 'telegram:7:4', 'telegram:7:5'])
    model.recordInbound(inbound(0))
    expect(model.messages('telegram:42').map((m) => m.platformId)).toEqual(['0', '1', '2', '3', '4', '5'])
    expect(model.getConversation('telegram:42')).toMatchObject({ messages: 6, lastMessageAt: NOW + 5, title: 'Ada' })
  })

  it('marks handled under a term, and keeps held messages out of the received list', () => {
    const { model } = withConversation()
    model.recordInbound(inbound(1))
    model.recordInbound({ ...inbound(2), held: true })
    model.markHandled('telegram:7:1', 4, 'laptop', NOW + 10)
    expect(model.inboxState('telegram:7:1')).toEqual({ state: 'handled', at: NOW + 10, term: 4, machine: 'laptop' })
    expect(model.received()).toEqual([])
    expect(model.counts('telegram').inbox).toEqual({ received: 0, handled: 1, held: 1 })
  })

  it('queues an outbox item once per id and walks it through sending to sent, adding the outbound message', () => {
    const { model } = withConversation()
    expect(model.enqueue({ id: 'o1', conversationId: 'telegram:42', text: 'hi', by: 'laptop' }, NOW)).toBe(true)
    expect(model.enqueue({ id: 'o1', conversationId: 'telegram:42', text: 'again', by: 'desk' }, NOW)).toBe(false)
    expect(model.outboxState('o1')).toEqual({ state: 'queued' })
    model.markSending('o1', 2, 1, 'laptop', NOW + 1)
    expect(model.unsent().map((i) => i.id)).toEqual(['o1'])
    model.markSent('o1', '99', 2, NOW + 2)
    expect(model.unsent()).toEqual([])
    expect(model.messages('telegram:42').at(-1)).toMatchObject({ id: 'out:o1', direction: 'out', platformId: '99', text: 'hi' })
    expect(model.counts().outbox).toEqual({ queued: 0, sending: 0, sent: 1, failed: 0 })
  })

  it('prunes finished inbox and outbox entries past retention and keeps the messages', () => {
    const { model } = withConversation()
    model.recordInbound(inbound(1))
    model.recordInbound(inbound(2))
    model.markHandled('telegram:7:1', 1, 'laptop', NOW)
    model.enqueue({ id: 'o1', conversationId: 'telegram:42', text: 'x', by: 'laptop' }, NOW)
    model.markFailed('o1', 'CHANNEL_SEND_REFUSED', NOW)
    expect(model.prune(NOW + DAY, 7 * DAY)).toBe(0)
    expect(model.prune(NOW + 8 * DAY, 7 * DAY)).toBe(2)
    expect(model.inboxState('telegram:7:1')).toBeUndefined()
    // Still received: never pruned.
    expect(model.inboxState('telegram:7:2')?.state).toBe('received')
    expect(model.outboxItem('o1')).toBeUndefined()
    expect(model.messages('telegram:42')).toHaveLength(2)
  })

  it('converges when two machines record the same update, and hides a malformed remote record', () => {
    const a = withConversation()
    const b = { doc: new Y.Doc() }
    sync(a.doc, b.doc)
    const mb = createConversationsModel(b.doc)
    a.model.recordInbound(inbound(1))
    mb.recordInbound(inbound(1))
    b.doc.getMap('messages').set('bad', { conversation: 'telegram:42', text: 5 })
    sync(a.doc, b.doc)
    expect(a.model.messages('telegram:42').map((m) => m.id)).toEqual(['telegram:7:1'])
    expect(mb.messages('telegram:42').map((m) => m.id)).toEqual(['telegram:7:1'])
    expect(a.model.message('bad')).toBeUndefined()
  })

  it('refuses bad input naming the field', () => {
    const { model } = withConversation()
    expect(codeAndField(() => model.recordInbound({ ...inbound(1), at: -1 }))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'at' })
    expect(codeAndField(() => model.enqueue({ id: 'o', conversationId: 'telegram:42', text: ' ', by: 'm' }, NOW))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'text' })
    expect(codeAndField(() => model.markSending('nope', 1, 1, 'm', NOW))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'id' })
    expect(codeAndField(() => model.messages('telegram:42', { limit: 0 }))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'limit' })
  })
})

describe('channels model', () => {
  it('keeps settings, an allowlist per user, and an offset that only moves forward', () => {
    const doc = new Y.Doc()
    const channels = createChannelsModel(doc)
    channels.configure({ channel: 'telegram', apiRoot: 'http://127.0.0.1:9/', owner: '42', botId: '7', botUsername: 'kira_bot', addedAt: NOW })
    expect(channels.settings('telegram')?.apiRoot).toBe('http://127.0.0.1:9')
    channels.setAllowed('telegram', '42', true, NOW)
    channels.setAllowed('telegram', '43', true, NOW)
    channels.setAllowed('telegram', '43', false, NOW + 1)
    expect(channels.allowed('telegram')).toEqual(['42'])
    expect(channels.advanceOffset('telegram', 10, 1, NOW)).toBe(true)
    expect(channels.advanceOffset('telegram', 5, 1, NOW)).toBe(false)
    expect(channels.offset('telegram')).toBe(10)
    expect(channels.remove('telegram')).toBe(true)
    expect(channels.settings('telegram')).toBeUndefined()
    expect(channels.offset('telegram')).toBe(10)
  })
})
