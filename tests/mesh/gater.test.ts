import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { createManualClock, silentLogger } from '../../runtime/index.js'
import { admissionOf, admits, createConnectionGater, type GaterPolicy } from '../../mesh/gater.js'
import { createRateLimiter } from '../../mesh/rate-limit.js'

function policy(overrides: Partial<GaterPolicy> = {}): GaterPolicy {
  return { isMember: () => false, wasRemoved: () => false, acceptsPairing: () => false, isJoining: () => false, ...overrides }
}

describe('connection gater', () => {
  it('admits a member both ways', () => {
    const p = policy({ isMember: (id) => id === 'm' })
    expect(admits(p, 'm', 'inbound')).toBe(true)
    expect(admits(p, 'm', 'outbound')).toBe(true)
  })

  it('refuses an unknown peer unless an invitation is open (inbound) or we are joining it (outbound)', () => {
    expect(admits(policy(), 'x', 'inbound')).toBe(false)
    expect(admits(policy(), 'x', 'outbound')).toBe(false)
    expect(admits(policy({ acceptsPairing: () => true }), 'x', 'inbound')).toBe(true)
    expect(admits(policy({ acceptsPairing: () => true }), 'x', 'outbound')).toBe(false)
    expect(admits(policy({ isJoining: (id) => id === 'x' }), 'x', 'outbound')).toBe(true)
  })

  it('lets a stranger in to pair while an invitation is open, only to hear a refusal while a closed one is remembered, else not at all', () => {
    expect(admissionOf(policy({ acceptsPairing: () => true, remembersPairing: () => true }), 'x', 'inbound')).toBe('pairing')
    expect(admissionOf(policy({ remembersPairing: () => true }), 'x', 'inbound')).toBe('refusal')
    expect(admissionOf(policy({ remembersPairing: () => true }), 'x', 'outbound')).toBe('refused')
    expect(admissionOf(policy(), 'x', 'inbound')).toBe('refused')
    expect(admissionOf(policy({ isMember: () => true }), 'x', 'inbound')).toBe('member')
  })

  it('refuses a removed machine even while invitations are open', () => {
    const p = policy({ isMember: () => true, wasRemoved: (id) => id === 'r', acceptsPairing: () => true })
    expect(admits(p, 'r', 'inbound')).toBe(false)
    expect(admits(p, 'r', 'outbound')).toBe(false)
  })

  it('denies everything before the mesh part is wired', async () => {
    const gater = createConnectionGater({ policy: () => null, clock: createManualClock(), logger: silentLogger })
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(await gater.denyDialPeer?.(peer)).toBe(true)
  })
})

describe('pairing rate limit', () => {
  it('allows max attempts per window per peer, then says how long to wait', () => {
    const limiter = createRateLimiter({ max: 2, windowMs: 1000 })
    expect(limiter.attempt('p', 0)).toBe(0)
    expect(limiter.attempt('p', 100)).toBe(0)
    expect(limiter.attempt('p', 200)).toBe(800)
    expect(limiter.attempt('q', 200)).toBe(0)
    expect(limiter.attempt('p', 1001)).toBe(0)
  })
})
