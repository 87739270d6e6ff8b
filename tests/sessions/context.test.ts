import { describe, expect, it } from 'vitest'
import { assembleContext, type ContextParts } from '../../sessions/context.js'

const parts: ContextParts = {
  identity: 'You are kira, a careful assistant.',
  person: { name: 'Lena', identities: ['telegram:42'], notes: 'Prefers short answers.', lastInteraction: Date.UTC(2026, 10, 1) },
  memories: [
    { topic: 'people', text: 'Lena prefers tea' },
    { topic: 'work', text: 'The report is due Friday' },
  ],
  recent: [
    { direction: 'in', text: 'hi', at: Date.UTC(2026, 11, 1, 9) },
    { direction: 'out', text: 'hello Lena', at: Date.UTC(2026, 11, 1, 9, 1) },
    { direction: 'in', text: 'what is due?', at: Date.UTC(2026, 11, 1, 9, 2) },
  ],
}

describe('assembleContext', () => {
  it('gives identity, person, memories and recent messages, oldest message first', () => {
    const text = assembleContext(parts, 10_000)
    const order = ['You are kira', 'Lena (telegram:42)', 'Prefers short answers', '[people] Lena prefers tea', '[work] The report', 'them (2026-12-01T09:00:00.000Z): hi', 'you (2026-12-01T09:01:00.000Z): hello Lena', 'what is due?']
    const at = order.map((s) => text.indexOf(s))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
  })

  it('never goes over its budget, whatever it is given', () => {
    const big: ContextParts = { ...parts, identity: 'x'.repeat(5000), memories: Array.from({ length: 200 }, (_, i) => ({ topic: 't', text: `memory ${i} `.repeat(20) })), recent: Array.from({ length: 500 }, (_, i) => ({ direction: 'in' as const, text: `message ${i}`, at: i })) }
    for (const budget of [0, 10, 100, 1000, 4000, 20_000]) expect(assembleContext(big, budget).length).toBeLessThanOrEqual(budget)
  })

  it('drops the oldest messages first and keeps the newest', () => {
    const many: ContextParts = { ...parts, memories: [], recent: Array.from({ length: 100 }, (_, i) => ({ direction: 'in' as const, text: `message ${i}`, at: i })) }
    const text = assembleContext(many, 800)
    expect(text).toContain('message 99')
    expect(text).not.toContain('message 0\n')
  })

  it('cuts an identity longer than half the budget, with a mark, and still tells the rest', () => {
    const text = assembleContext({ ...parts, identity: 'y'.repeat(3000) }, 2000)
    expect(text).toContain('y […]')
    expect(text).toContain('what is due?')
  })

  it('keeps the weakest memory matches out first', () => {
    const text = assembleContext({ ...parts, recent: [] }, 240)
    expect(text).toContain('Lena prefers tea')
    expect(text).not.toContain('report is due')
  })
})
