import { describe, expect, it } from 'vitest'
import {
  codeOf,
  fromBase64Url,
  generateSeed,
  keyPairFromSeed,
  signToken,
  toBase64Url,
  toHex,
  TokenExpiredError,
  TokenMalformedError,
  verifyToken,
} from './fixtures.js'

const NOW = 1_700_000_000_000
const FIFTEEN_MINUTES = 15 * 60 * 1000
const inviter = keyPairFromSeed(generateSeed())
const payload = { meshId: 'm-123', secret: 'c2VjcmV0', addresses: ['/ip4/127.0.0.1/tcp/4001'] }
const token = signToken(inviter.seed, payload, { issuedAt: NOW, expiresAt: NOW + FIFTEEN_MINUTES, kind: 'invite' })
const verifyOpts = { now: NOW + 1000, kind: 'invite' }

function reason(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return err instanceof TokenMalformedError ? err.reason : `not malformed: ${(err as { code?: string }).code}`
  }
  return undefined
}

/** Re-encodes the token with one blob byte changed. */
function withBlob(edit: (blob: Uint8Array) => Uint8Array): string {
  return 'instar1.' + toBase64Url(edit(fromBase64Url(token.slice('instar1.'.length))))
}

describe('signed tokens', () => {
  it('round-trips signer, times and payload', () => {
    const verified = verifyToken(token, { ...verifyOpts, signer: inviter.publicKey })
    expect(toHex(verified.signer)).toBe(toHex(inviter.publicKey))
    expect(verified.issuedAt).toBe(NOW)
    expect(verified.expiresAt).toBe(NOW + FIFTEEN_MINUTES)
    expect(verified.payload).toEqual(payload)
  })

  it('is one line of url-safe characters after the instar1. prefix', () => {
    expect(token).toMatch(/^instar1\.[A-Za-z0-9_-]+$/)
  })

  it('still verifies when wrapped with newlines, spaces and tabs', () => {
    const wrapped = '  \n' + (token.match(/.{1,23}/g) ?? []).join('\r\n  \t') + ' \n'
    expect(verifyToken(wrapped, verifyOpts).payload).toEqual(payload)
  })

  it('rejects a flipped bit at every byte of the blob', () => {
    const length = fromBase64Url(token.slice('instar1.'.length)).length
    for (let i = 0; i < length; i++) {
      const tampered = withBlob((blob) => {
        const copy = Uint8Array.from(blob)
        copy[i] = (copy[i] ?? 0) ^ 0x04
        return copy
      })
      const code = codeOf(() => verifyToken(tampered, verifyOpts))
      expect(['IDENTITY_TOKEN_MALFORMED', 'IDENTITY_TOKEN_SIGNATURE_INVALID'], `byte ${i}: ${code}`).toContain(code)
    }
  })

  it('reports a signature error, not a JSON error, when a payload byte is changed', () => {
    const tampered = withBlob((blob) => {
      const copy = Uint8Array.from(blob)
      copy[40] = '['.charCodeAt(0)
      return copy
    })
    expect(codeOf(() => verifyToken(tampered, verifyOpts))).toBe('IDENTITY_TOKEN_SIGNATURE_INVALID')
  })

  it('rejects truncated tokens and trailing bytes', () => {
    expect(reason(() => verifyToken(withBlob((b) => b.subarray(0, b.length - 1)), verifyOpts))).toBe('truncated')
    expect(reason(() => verifyToken(withBlob((b) => b.subarray(0, 20)), verifyOpts))).toBe('truncated')
    expect(reason(() => verifyToken('instar1.', verifyOpts))).toBe('truncated')
    expect(reason(() => verifyToken(withBlob((b) => Uint8Array.of(...b, 0)), verifyOpts))).toBe('trailing bytes')
  })

  it('rejects a token cut in the middle of its text', () => {
    const cut = token.slice(0, Math.floor(token.length / 2))
    expect(codeOf(() => verifyToken(cut, verifyOpts))).toBe('IDENTITY_TOKEN_MALFORMED')
  })

  it('rejects a wrong prefix, bad base64 and an unknown version', () => {
    expect(reason(() => verifyToken(token.replace('instar1.', 'instar2.'), verifyOpts))).toBe('bad prefix')
    expect(reason(() => verifyToken(token.slice(1), verifyOpts))).toBe('bad prefix')
    expect(reason(() => verifyToken('', verifyOpts))).toBe('bad prefix')
    expect(reason(() => verifyToken(token + '=', verifyOpts))).toBe('bad base64')
    expect(reason(() => verifyToken(token.slice(0, 20) + '+' + token.slice(21), verifyOpts))).toBe('bad base64')
    const v2 = withBlob((b) => Uint8Array.of(2, ...b.subarray(1)))
    expect(reason(() => verifyToken(v2, verifyOpts))).toBe('unsupported version')
  })

  it('throws IDENTITY_TOKEN_EXPIRED with expiresAt and now once now reaches exp', () => {
    const now = NOW + FIFTEEN_MINUTES + 1
    let caught: unknown
    try {
      verifyToken(token, { now, kind: 'invite' })
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(TokenExpiredError)
    expect((caught as TokenExpiredError).code).toBe('IDENTITY_TOKEN_EXPIRED')
    expect((caught as TokenExpiredError).expiresAt).toBe(NOW + FIFTEEN_MINUTES)
    expect((caught as TokenExpiredError).now).toBe(now)
    expect(codeOf(() => verifyToken(token, { now: NOW + FIFTEEN_MINUTES, kind: 'invite' }))).toBe('IDENTITY_TOKEN_EXPIRED')
    expect(verifyToken(token, { now: NOW + FIFTEEN_MINUTES - 1, kind: 'invite' }).expiresAt).toBe(NOW + FIFTEEN_MINUTES)
    expect(codeOf(() => verifyToken(token, { now: Number.NaN, kind: 'invite' }))).toBe('IDENTITY_TOKEN_EXPIRED')
  })

  it('checks the signature before expiry', () => {
    const tampered = withBlob((blob) => {
      const copy = Uint8Array.from(blob)
      copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1
      return copy
    })
    const late = { now: NOW + 10 * FIFTEEN_MINUTES, kind: 'invite' }
    expect(codeOf(() => verifyToken(tampered, late))).toBe('IDENTITY_TOKEN_SIGNATURE_INVALID')
  })

  it('rejects a token of another kind', () => {
    expect(reason(() => verifyToken(token, { ...verifyOpts, kind: 'session' }))).toBe('wrong kind')
  })

  it('rejects a valid token from a signer other than the expected one', () => {
    const other = keyPairFromSeed(generateSeed())
    expect(codeOf(() => verifyToken(token, { ...verifyOpts, signer: other.publicKey }))).toBe(
      'IDENTITY_TOKEN_SIGNER_MISMATCH',
    )
  })

  it('rejects tokens larger than maxBytes, by default 4096', () => {
    const big = signToken(inviter.seed, { blob: 'x'.repeat(5000) }, { issuedAt: NOW, expiresAt: NOW + FIFTEEN_MINUTES, kind: 'invite' })
    expect(reason(() => verifyToken(big, verifyOpts))).toBe('too large')
    expect(verifyToken(big, { ...verifyOpts, maxBytes: 8192 }).payload['blob']).toHaveLength(5000)
    expect(reason(() => verifyToken(token, { ...verifyOpts, maxBytes: 64 }))).toBe('too large')
    expect(reason(() => verifyToken(' '.repeat(100_000) + token, verifyOpts))).toBe('too large')
  })

  it('refuses to sign with bad times, an empty kind or an unserializable payload', () => {
    const seed = inviter.seed
    expect(codeOf(() => signToken(seed, {}, { issuedAt: NOW, expiresAt: NOW, kind: 'invite' }))).toBe(
      'IDENTITY_TOKEN_ENCODE_FAILED',
    )
    expect(codeOf(() => signToken(seed, {}, { issuedAt: NOW, expiresAt: NOW + 1, kind: '' }))).toBe(
      'IDENTITY_TOKEN_ENCODE_FAILED',
    )
    expect(codeOf(() => signToken(seed, { n: 1n }, { issuedAt: NOW, expiresAt: NOW + 1, kind: 'invite' }))).toBe(
      'IDENTITY_TOKEN_ENCODE_FAILED',
    )
    expect(codeOf(() => signToken(new Uint8Array(16), {}, { issuedAt: NOW, expiresAt: NOW + 1, kind: 'invite' }))).toBe(
      'IDENTITY_KEY_INVALID',
    )
  })

  it('never puts payload contents into error messages', () => {
    const secret = 'one-time-secret-ABCDEFGH'
    const t = signToken(inviter.seed, { secret }, { issuedAt: NOW, expiresAt: NOW + 1000, kind: 'invite' })
    for (const run of [
      () => verifyToken(t, { now: NOW + 2000, kind: 'invite' }),
      () => verifyToken(t, { now: NOW, kind: 'other' }),
    ]) {
      try {
        run()
        expect.unreachable()
      } catch (err) {
        expect(String((err as Error).message)).not.toContain(secret)
      }
    }
  })
})
