import { describe, expect, it } from 'vitest'
import { keyPairFromSeed, signToken, toBase64Url, toHex, verifyToken } from '../../identity/index.js'
import { peerIdFromSeed } from '../../mesh/host.js'
import {
  createInvitation,
  invitationSas,
  inviteIdOf,
  peerIdOfPublicKey,
  readInvitation,
} from '../../mesh/invitation.js'

const NOW = 1_700_000_000_000
const MINUTE = 60 * 1000
const TTL = 15 * MINUTE
const inviterSeed = new Uint8Array(32).fill(7)
const otherSeed = new Uint8Array(32).fill(9)
const inviter = keyPairFromSeed(inviterSeed)
const inviterPeerId = peerIdOfPublicKey(inviter.publicKey)
const meshId = 'm' + '0123456789abcdef'.repeat(2)
const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1)
const addresses = [`/ip4/192.168.1.20/tcp/4001/p2p/${inviterPeerId}`, '/ip6/::1/tcp/4001']

function invite(overrides: Partial<Parameters<typeof createInvitation>[1]> = {}) {
  return createInvitation(inviterSeed, { meshId, inviterPeerId, addresses, now: NOW, ttlMs: TTL, secret, ...overrides })
}

/** The code (and reason, when there is one) of what run throws. */
function failure(run: () => unknown): { code?: string; reason?: string } | undefined {
  try {
    run()
  } catch (err) {
    const { code, reason } = err as { code?: string; reason?: string }
    return { code, reason }
  }
  return undefined
}

function signPayload(seed: Uint8Array, payload: Record<string, unknown>, ttl = TTL, kind = 'instar-invitation'): string {
  return signToken(seed, payload, { kind, issuedAt: NOW, expiresAt: NOW + ttl })
}

const goodPayload = { mesh: meshId, peer: inviterPeerId, addrs: addresses, secret: toBase64Url(secret) }

describe('invitations', () => {
  it('derives the same peer id as the libp2p host does', async () => {
    expect(inviterPeerId).toBe((await peerIdFromSeed(inviterSeed)).toString())
  })

  it('round-trips every field', () => {
    const created = invite()
    expect(created.token).toMatch(/^instar1\.[A-Za-z0-9_-]+$/)
    const read = readInvitation(created.token, NOW + MINUTE)
    expect(read).toEqual(created)
    expect(read.meshId).toBe(meshId)
    expect(read.inviterPeerId).toBe(inviterPeerId)
    expect(toHex(read.inviterPublicKey)).toBe(toHex(inviter.publicKey))
    expect(read.addresses).toEqual(addresses)
    expect(toHex(read.secret)).toBe(toHex(secret))
    expect(read.inviteId).toMatch(/^[0-9a-f]{32}$/)
    expect(read.inviteId).toBe(inviteIdOf(secret))
    expect(read.issuedAt).toBe(NOW)
    expect(read.expiresAt).toBe(NOW + TTL)
  })

  it('shows the same short authentication string on both sides', () => {
    const created = invite()
    const read = readInvitation(created.token, NOW)
    expect(created.sas).toMatch(/^\d{3} \d{3}$/)
    expect(read.sas).toBe(created.sas)
    expect(read.sas).toBe(invitationSas(secret, inviter.publicKey, meshId))
    const otherSecret = Uint8Array.from(secret, (b) => b ^ 0xff)
    expect(invitationSas(otherSecret, inviter.publicKey, meshId)).not.toBe(created.sas)
  })

  it('draws a fresh secret when none is given', () => {
    const a = invite({ secret: undefined })
    const b = invite({ secret: undefined })
    expect(a.secret.length).toBe(32)
    expect(toHex(a.secret)).not.toBe(toHex(b.secret))
    expect(a.inviteId).not.toBe(b.inviteId)
  })

  it('survives being wrapped at 40 columns and surrounded by spaces', () => {
    const created = invite()
    const wrapped = '   ' + (created.token.match(/.{1,40}/g) ?? []).join('\n') + '  \n'
    expect(wrapped).toContain('\n')
    const read = readInvitation(wrapped, NOW)
    expect(read).toEqual(created)
    expect(read.token).toBe(created.token)
    const crlf = '\t' + (created.token.match(/.{1,40}/g) ?? []).join(' \r\n ') + ' '
    expect(readInvitation(crlf, NOW).inviteId).toBe(created.inviteId)
  })

  it('expires at expiresAt', () => {
    const created = invite()
    expect(readInvitation(created.token, NOW + TTL - 1).inviteId).toBe(created.inviteId)
    expect(failure(() => readInvitation(created.token, NOW + TTL))?.code).toBe('PAIRING_INVITATION_EXPIRED')
    expect(failure(() => readInvitation(created.token, NOW + 10 * TTL))?.code).toBe('PAIRING_INVITATION_EXPIRED')
  })

  it('never accepts a token with one character changed, wherever it is', () => {
    const { token } = invite()
    const seen = new Set<string>()
    for (let i = 0; i < token.length; i++) {
      const original = token[i] ?? ''
      const replacement = original === 'A' ? 'B' : 'A'
      const tampered = token.slice(0, i) + replacement + token.slice(i + 1)
      const code = failure(() => readInvitation(tampered, NOW))?.code
      expect(['PAIRING_INVITATION_FORGED', 'PAIRING_INVITATION_MALFORMED'], `position ${i}: ${code}`).toContain(code)
      seen.add(code ?? '')
    }
    // Both outcomes occur: a changed prefix or length is malformed, a changed body is forged.
    expect(seen.size).toBe(2)
  })

  it('calls a cut token malformed and says it is cut short', () => {
    const { token } = invite()
    for (const cut of [token.slice(0, Math.floor(token.length / 2)), token.slice(0, -1), token.slice(0, -2), token.slice(0, 12)]) {
      const got = failure(() => readInvitation(cut, NOW))
      expect(got?.code, `length ${cut.length}`).toBe('PAIRING_INVITATION_MALFORMED')
      expect(got?.reason, `length ${cut.length}`).toMatch(/cut short/)
    }
  })

  it('calls text that is not an invitation malformed', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
    for (const text of ['hello', '', '   ', jwt, 'instar1.', 'instar1.!!!!']) {
      expect(failure(() => readInvitation(text, NOW))?.code, JSON.stringify(text)).toBe('PAIRING_INVITATION_MALFORMED')
    }
    expect(failure(() => readInvitation('hello', NOW))?.reason).toBe('it is not an instar invitation')
    expect(failure(() => readInvitation(jwt, NOW))?.reason).toBe('it is not an instar invitation')
    expect(failure(() => readInvitation('instar1.!!!!', NOW))?.reason).toMatch(/characters/)
    expect(failure(() => readInvitation(123 as unknown as string, NOW))?.code).toBe('PAIRING_INVITATION_MALFORMED')
  })

  it('calls another kind of instar token not an invitation', () => {
    const other = signPayload(inviterSeed, goodPayload, TTL, 'instar-something-else')
    const got = failure(() => readInvitation(other, NOW))
    expect(got).toEqual({ code: 'PAIRING_INVITATION_MALFORMED', reason: 'it is not an instar invitation' })
  })

  it('calls a token too large to be an invitation malformed', () => {
    const huge = 'instar1.' + 'A'.repeat(100_000)
    expect(failure(() => readInvitation(huge, NOW))).toEqual({
      code: 'PAIRING_INVITATION_MALFORMED',
      reason: 'it is too large to be an invitation',
    })
  })

  it('calls a token signed by a key other than the named peer forged', () => {
    expect(readInvitation(signPayload(inviterSeed, goodPayload), NOW).inviteId).toBe(inviteIdOf(secret))
    const impostor = signPayload(otherSeed, goodPayload)
    expect(failure(() => readInvitation(impostor, NOW))?.code).toBe('PAIRING_INVITATION_FORGED')
    const otherPeer = peerIdOfPublicKey(keyPairFromSeed(otherSeed).publicKey)
    const namesOther = signPayload(inviterSeed, { ...goodPayload, peer: otherPeer })
    expect(failure(() => readInvitation(namesOther, NOW))?.code).toBe('PAIRING_INVITATION_FORGED')
  })

  it('refuses a validly signed payload of the wrong shape', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['bad mesh id', { ...goodPayload, mesh: 'mesh-1' }],
      ['upper-case mesh id', { ...goodPayload, mesh: meshId.toUpperCase() }],
      ['empty peer', { ...goodPayload, peer: '' }],
      ['long peer', { ...goodPayload, peer: 'p'.repeat(129) }],
      ['17 addresses', { ...goodPayload, addrs: Array.from({ length: 17 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`) }],
      ['long address', { ...goodPayload, addrs: ['/dns/' + 'a'.repeat(260)] }],
      ['address not a string', { ...goodPayload, addrs: [42] }],
      ['31-byte secret', { ...goodPayload, secret: toBase64Url(secret.subarray(1)) }],
      ['33-byte secret', { ...goodPayload, secret: toBase64Url(Uint8Array.of(...secret, 1)) }],
      ['padded secret', { ...goodPayload, secret: toBase64Url(secret) + '=' }],
      ['missing secret', { mesh: meshId, peer: inviterPeerId, addrs: addresses }],
      ['extra field', { ...goodPayload, admin: true }],
    ]
    for (const [name, payload] of cases) {
      const got = failure(() => readInvitation(signPayload(inviterSeed, payload), NOW))
      expect(got?.code, name).toBe('PAIRING_INVITATION_MALFORMED')
      expect(got?.reason, name).toMatch(/^its contents are not an invitation/)
    }
  })

  it('refuses a signed token whose lifetime is out of range', () => {
    const long = signPayload(inviterSeed, goodPayload, 8 * 24 * 60 * MINUTE)
    expect(failure(() => readInvitation(long, NOW))?.code).toBe('PAIRING_INVITATION_MALFORMED')
  })

  it('keeps the ttl between one minute and seven days', () => {
    expect(invite({ ttlMs: MINUTE }).expiresAt).toBe(NOW + MINUTE)
    expect(invite({ ttlMs: 7 * 24 * 60 * MINUTE }).expiresAt).toBe(NOW + 7 * 24 * 60 * MINUTE)
    for (const ttlMs of [0, -1, MINUTE - 1, 7 * 24 * 60 * MINUTE + 1, 1.5 * MINUTE + 0.5, Number.NaN]) {
      expect(failure(() => invite({ ttlMs })), String(ttlMs)).toEqual({
        code: 'PAIRING_INVITATION_MALFORMED',
        reason: 'ttl out of range',
      })
    }
  })

  it('refuses to create an invitation it could not read back', () => {
    expect(failure(() => invite({ meshId: 'nope' }))?.code).toBe('PAIRING_INVITATION_MALFORMED')
    expect(failure(() => invite({ secret: new Uint8Array(16) }))?.code).toBe('PAIRING_INVITATION_MALFORMED')
    expect(failure(() => invite({ addresses: ['has space'] }))?.code).toBe('PAIRING_INVITATION_MALFORMED')
    expect(failure(() => invite({ now: 1.5 }))?.code).toBe('PAIRING_INVITATION_MALFORMED')
    const otherPeer = peerIdOfPublicKey(keyPairFromSeed(otherSeed).publicKey)
    expect(failure(() => invite({ inviterPeerId: otherPeer }))?.code).toBe('PAIRING_PEER_MISMATCH')
  })

  it('reads back an invitation with 16 long addresses', () => {
    const many = Array.from({ length: 16 }, (_, i) => `/dns4/${'h'.repeat(220)}.example/tcp/${4000 + i}`)
    const created = invite({ addresses: many })
    expect(readInvitation(created.token, NOW).addresses).toEqual(many)
  })

  it('round-trips a witness invitation with its role', () => {
    const created = invite({ role: 'witness' })
    expect(created.role).toBe('witness')
    const read = readInvitation(created.token, NOW + MINUTE)
    expect(read).toEqual(created)
    expect(read.role).toBe('witness')
    expect(verifyToken(created.token, { now: NOW, kind: 'instar-invitation' }).payload.role).toBe('witness')
  })

  it('makes a member invitation by default, with no role field in its payload', () => {
    for (const created of [invite(), invite({ role: 'member' })]) {
      expect(created.role).toBe('member')
      expect(readInvitation(created.token, NOW).role).toBe('member')
      expect(verifyToken(created.token, { now: NOW, kind: 'instar-invitation' }).payload).not.toHaveProperty('role')
    }
    // A token signed without a role, as before witnesses existed, reads as a member invitation.
    expect(readInvitation(signPayload(inviterSeed, goodPayload), NOW).role).toBe('member')
  })

  it('refuses a signed payload whose role is anything but "witness", naming the field', () => {
    for (const role of ['leader', 'member', 'Witness', '', null, 1, true, ['witness'], { witness: true }]) {
      const got = failure(() => readInvitation(signPayload(inviterSeed, { ...goodPayload, role }), NOW))
      expect(got?.code, JSON.stringify(role)).toBe('PAIRING_INVITATION_MALFORMED')
      expect(got?.reason, JSON.stringify(role)).toMatch(/^its contents are not an invitation \(role: /)
    }
  })

  it('refuses to create an invitation for an unknown role', () => {
    const got = failure(() => invite({ role: 'leader' as 'member' }))
    expect(got?.code).toBe('PAIRING_INVITATION_MALFORMED')
    expect(got?.reason).toMatch(/role/)
  })

  it('derives the invite id from the secret alone', () => {
    expect(inviteIdOf(secret)).toBe(inviteIdOf(Uint8Array.from(secret)))
    expect(inviteIdOf(secret)).not.toBe(inviteIdOf(Uint8Array.from(secret, (b, i) => (i === 0 ? b ^ 1 : b))))
    expect(failure(() => inviteIdOf(new Uint8Array(31)))?.code).toBe('PAIRING_INVITATION_MALFORMED')
  })
})
