import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { createHandshakeSlots, createStrangerQuota, createThrottledLog, ipKeyOf, resolveAdmissionOptions } from '../../mesh/admission.js'
import { createManualClock } from '../../runtime/index.js'

describe('handshake slots', () => {
  it('evicts the oldest handshake of an IP that opens more than its share, and only that IP\'s', () => {
    const slots = createHandshakeSlots<string>({ perIp: 2, total: 10 })
    expect(slots.open('q1', 'q')).toBeUndefined()
    expect(slots.open('a1', 'a')).toBeUndefined()
    expect(slots.open('a2', 'a')).toBeUndefined()
    expect(slots.open('a3', 'a')).toBe('a1')
    expect(slots.open('a4', 'a')).toBe('a2')
    expect(slots.countOf('a')).toBe(2)
    expect(slots.countOf('q')).toBe(1)
  })

  it('when full, evicts from the IP that holds the most, never a newcomer from a quiet IP', () => {
    const slots = createHandshakeSlots<string>({ perIp: 8, total: 4 })
    slots.open('b1', 'b')
    slots.open('a1', 'a')
    slots.open('a2', 'a')
    slots.open('a3', 'a')
    expect(slots.open('m1', 'm')).toBe('a1')
    expect(slots.open('m2', 'm')).toBe('a2')
    // Now b and a hold one each and m two: m gives way.
    expect(slots.open('c1', 'c')).toBe('m1')
    expect(slots.size()).toBe(4)
  })

  it('frees a slot when its handshake ends, and forgets an IP with none left', () => {
    const slots = createHandshakeSlots<string>({ perIp: 1, total: 1 })
    slots.open('a1', 'a')
    slots.close('a1')
    slots.close('a1')
    expect(slots.size()).toBe(0)
    expect(slots.open('b1', 'b')).toBeUndefined()
  })
})

describe('stranger quota', () => {
  it('counts strangers per IP and in all, and stops counting one that has joined the roster', () => {
    const joined = new Set<string>()
    const quota = createStrangerQuota<number>({ perIp: 2, total: 3 }, (peerId) => joined.has(peerId))
    expect(quota.admit(1, { ip: 'a', peerId: 'p1' })).toBe(true)
    expect(quota.admit(2, { ip: 'a', peerId: 'p2' })).toBe(true)
    expect(quota.admit(3, { ip: 'a', peerId: 'p3' })).toBe(false)
    expect(quota.admit(4, { ip: 'b', peerId: 'p4' })).toBe(true)
    expect(quota.admit(5, { ip: 'c', peerId: 'p5' })).toBe(false)
    joined.add('p1')
    expect(quota.admit(6, { ip: 'a', peerId: 'p6' })).toBe(true)
    quota.release(4)
    expect(quota.size()).toBe(2)
  })
})

describe('the IP a connection counts under', () => {
  it('is the IPv4 address, an IPv4-mapped address as IPv4, and the /64 of an IPv6 address', () => {
    expect(ipKeyOf(multiaddr('/ip4/203.0.113.7/tcp/4001'))).toBe('203.0.113.7')
    expect(ipKeyOf(multiaddr('/ip6/::ffff:203.0.113.7/tcp/4001'))).toBe('203.0.113.7')
    expect(ipKeyOf(multiaddr('/ip6/2001:db8:1:2:aaaa::1/tcp/4001'))).toBe('2001:db8:1:2::/64')
    expect(ipKeyOf(multiaddr('/ip6/2001:db8:1:2:bbbb:cccc:dddd:eeee/tcp/4001'))).toBe('2001:db8:1:2::/64')
    expect(ipKeyOf(multiaddr('/ip6/::1/tcp/4001'))).toBe('0:0:0:0::/64')
    expect(ipKeyOf(multiaddr('/dns4/example.com/tcp/4001'))).toBe('other')
  })
})

describe('admission options', () => {
  it('keeps strangers and pending handshakes well under libp2p\'s connection limit by default', () => {
    const limits = resolveAdmissionOptions()
    expect(limits.strangersTotal).toBeLessThan(300)
    expect(limits.strangersPerIp).toBeLessThanOrEqual(limits.strangersTotal)
    expect(limits.pendingPerIp).toBeLessThanOrEqual(limits.pendingTotal)
    expect(resolveAdmissionOptions({ strangersTotal: 2 }).strangersTotal).toBe(2)
  })
})

describe('throttled log', () => {
  it('logs a code once per interval and says how many it held back', () => {
    const clock = createManualClock(0)
    const lines: object[] = []
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (fields: object) => void lines.push(fields) }
    const log = createThrottledLog(clock, logger, 1000)
    for (let i = 0; i < 5; i++) log('warn', 'X', {}, 'x')
    clock.advance(1000)
    log('warn', 'X', {}, 'x')
    expect(lines).toEqual([{ code: 'X' }, { code: 'X', suppressed: 4 }])
  })
})
