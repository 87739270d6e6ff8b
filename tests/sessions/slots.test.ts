import { describe, expect, it } from 'vitest'
import { createSlots } from '../../sessions/slots.js'

describe('session slots', () => {
  it('hands out slots up to the limit, then in the order asked', async () => {
    const slots = createSlots(1)
    const order: string[] = []
    await slots.acquire()
    const b = slots.acquire().then(() => order.push('b'))
    const c = slots.acquire().then(() => order.push('c'))
    expect(slots.waiting()).toBe(2)
    slots.release()
    await b
    slots.release()
    await c
    expect(order).toEqual(['b', 'c'])
    expect(slots.free()).toBe(0)
    slots.release()
    expect(slots.free()).toBe(1)
  })

  it('lets a waiter whose signal aborts leave the line', async () => {
    const slots = createSlots(1)
    await slots.acquire()
    const abort = new AbortController()
    const waiting = slots.acquire({ signal: abort.signal })
    abort.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    expect(slots.waiting()).toBe(0)
  })

  it('refuses every waiter and later asker once closed', async () => {
    const slots = createSlots(1)
    await slots.acquire()
    const waiting = slots.acquire()
    slots.close(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
    await expect(slots.acquire()).rejects.toThrow('stopped')
  })

  it('refuses a size that is not a positive integer', () => {
    expect(() => createSlots(0)).toThrow(RangeError)
  })
})
