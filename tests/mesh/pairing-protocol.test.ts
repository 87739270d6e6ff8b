import { randomInt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { keyPairFromSeed, openSealed, sealTo, toBase64Url, toHex, x25519PublicFromEd25519 } from '../../identity/index.js'
import { PairingFrameMalformedError, PairingVersionUnsupportedError } from '../../mesh/errors.js'
import { decodePairingMessage, encodePairingMessage, MAX_PAIRING_FRAME, PAIRING_PROTOCOL } from '../../mesh/pairing-protocol.js'
import type { PairingMessage } from '../../mesh/pairing-protocol.js'
import { acceptProof, checkProof, joinProof, pairingTranscript } from '../../mesh/pairing-transcript.js'
import { decodeWelcome, encodeWelcome } from '../../mesh/pairing-welcome.js'
import type { MemberWelcome, WitnessWelcome } from '../../mesh/pairing-welcome.js'
import { mulberry32 } from '../support/seeded-random.js'

const inviter = keyPairFromSeed(new Uint8Array(32).fill(1))
const joiner = keyPairFromSeed(new Uint8Array(32).fill(2))
const secret = new Uint8Array(32).fill(3)
const meshId = 'm' + 'ab'.repeat(16)
const inviteId = '0123456789abcdef'.repeat(2)
const nonce = Uint8Array.from({ length: 32 }, (_, i) => 255 - i)
const b64 = toBase64Url

const request: PairingMessage = {
  type: 'join-request',
  inviteId,
  joiner: { publicKey: joiner.publicKey, name: 'laptop-2.home', addresses: ['/ip4/10.0.0.2/tcp/4001', '/ip6/::1/tcp/4001'] },
  nonce,
  proof: new Uint8Array(32).fill(4),
}
const accept: PairingMessage = { type: 'join-accept', proof: new Uint8Array(32).fill(5), welcome: new Uint8Array(500).fill(6) }
const reject: PairingMessage = { type: 'join-reject', code: 'PAIRING_INVITATION_USED', message: 'the invitation was already used; ask for a new one' }

const requestBody = {
  inviteId,
  joiner: { publicKey: b64(joiner.publicKey), name: 'laptop', addresses: ['/ip4/10.0.0.2/tcp/4001'] },
  nonce: b64(nonce),
  proof: b64(new Uint8Array(32).fill(4)),
}

function frame(version: number, type: number, body: string | object): Uint8Array {
  const json = new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body))
  return Uint8Array.of(version, type, ...json)
}

function bigFrame(version: number, type: number, body: string): Uint8Array {
  const json = new TextEncoder().encode(body)
  const out = new Uint8Array(2 + json.length)
  out[0] = version
  out[1] = type
  out.set(json, 2)
  return out
}

function failure(run: () => unknown): { code?: string; reason?: string } | undefined {
  try {
    run()
  } catch (err) {
    const { code, reason } = err as { code?: string; reason?: string }
    return { code, reason }
  }
  return undefined
}

/** 32 bytes that are not an Ed25519 point (found deterministically). */
function notAPoint(): Uint8Array {
  for (let i = 2; i < 256; i++) {
    const candidate = new Uint8Array(32)
    candidate[0] = i
    try {
      x25519PublicFromEd25519(candidate)
    } catch {
      return candidate
    }
  }
  throw new Error('no non-point found')
}

const welcome: MemberWelcome = {
  role: 'member',
  meshId,
  agent: { name: 'echo', seed: new Uint8Array(32).fill(8) },
  meshKeys: [
    { epoch: 1, key: new Uint8Array(32).fill(9) },
    { epoch: 2, key: new Uint8Array(32).fill(10) },
  ],
  roster: Uint8Array.from({ length: 300 }, (_, i) => i % 251),
}

function welcomeJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    meshId,
    agent: { name: 'echo', seed: b64(new Uint8Array(32).fill(8)) },
    meshKeys: [{ epoch: 1, key: b64(new Uint8Array(32).fill(9)) }],
    roster: b64(new Uint8Array(10)),
    ...overrides,
  }
}

const agentKey = keyPairFromSeed(new Uint8Array(32).fill(8)).publicKey

const witnessWelcome: WitnessWelcome = {
  role: 'witness',
  meshId,
  agent: { name: 'echo', publicKey: agentKey },
  roster: Uint8Array.from({ length: 300 }, (_, i) => i % 251),
}

function witnessWelcomeJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    role: 'witness',
    meshId,
    agent: { name: 'echo', publicKey: b64(agentKey) },
    roster: b64(new Uint8Array(10)),
    ...overrides,
  }
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))
}

describe('pairing frames', () => {
  it('names the protocol and its frame limit', () => {
    expect(PAIRING_PROTOCOL).toBe('/instar/pair/1.0.0')
    expect(MAX_PAIRING_FRAME).toBe(256 * 1024)
  })

  it('round-trips each message type', () => {
    for (const message of [request, accept, reject]) {
      const bytes = encodePairingMessage(message)
      expect(bytes[0]).toBe(1)
      expect(decodePairingMessage(bytes)).toEqual(message)
    }
    expect(encodePairingMessage(request)[1]).toBe(1)
    expect(encodePairingMessage(accept)[1]).toBe(2)
    expect(encodePairingMessage(reject)[1]).toBe(3)
    const noAddresses: PairingMessage = { ...request, joiner: { ...request.joiner, addresses: [] } } as PairingMessage
    expect(decodePairingMessage(encodePairingMessage(noAddresses))).toEqual(noAddresses)
  })

  it('writes the body as plain JSON after two header bytes', () => {
    const bytes = encodePairingMessage(reject)
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(2)))).toEqual({ code: reject.code, message: reject.message })
  })

  const MALFORMED = 'PAIRING_FRAME_MALFORMED'
  const VERSION = 'PAIRING_VERSION_UNSUPPORTED'
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  const table: Array<{ name: string; bytes: Uint8Array; code: string; reason?: RegExp }> = [
    { name: 'empty', bytes: new Uint8Array(0), code: MALFORMED, reason: /empty/ },
    { name: '1 byte', bytes: Uint8Array.of(1), code: MALFORMED, reason: /type/ },
    { name: 'version 2', bytes: frame(2, 1, requestBody), code: VERSION },
    { name: 'version 0', bytes: frame(0, 1, requestBody), code: VERSION },
    { name: 'version 2, 1 byte', bytes: Uint8Array.of(2), code: VERSION },
    { name: 'unknown type 9', bytes: frame(1, 9, requestBody), code: MALFORMED, reason: /type 9/ },
    { name: 'type 0', bytes: frame(1, 0, requestBody), code: MALFORMED, reason: /type 0/ },
    { name: 'no body', bytes: Uint8Array.of(1, 1), code: MALFORMED, reason: /not JSON/ },
    { name: 'body not JSON', bytes: frame(1, 1, '{"inviteId":'), code: MALFORMED, reason: /not JSON/ },
    { name: 'body not UTF-8', bytes: Uint8Array.of(1, 1, 0x7b, 0xff, 0xfe, 0x7d), code: MALFORMED, reason: /UTF-8/ },
    { name: 'byte order mark', bytes: frame(1, 3, '\ufeff' + JSON.stringify({ code: 'ABC', message: '' })), code: MALFORMED },
    { name: 'JSON array', bytes: frame(1, 1, '[]'), code: MALFORMED, reason: /body/ },
    { name: 'JSON null', bytes: frame(1, 2, 'null'), code: MALFORMED },
    { name: 'JSON string', bytes: frame(1, 3, '"JOIN"'), code: MALFORMED },
    { name: 'missing field', bytes: frame(1, 1, { ...requestBody, proof: undefined }), code: MALFORMED, reason: /proof/ },
    { name: 'missing joiner field', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, name: undefined } }), code: MALFORMED, reason: /joiner\.name/ },
    { name: 'extra field', bytes: frame(1, 1, { ...requestBody, admin: true }), code: MALFORMED, reason: /unknown field "admin"/ },
    { name: 'extra joiner field', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, role: 'leader' } }), code: MALFORMED, reason: /joiner: unknown field "role"/ },
    { name: 'extra reject field', bytes: frame(1, 3, { code: 'ABC', message: 'x', stack: 'y' }), code: MALFORMED },
    { name: 'wrong base64 (standard alphabet)', bytes: frame(1, 1, { ...requestBody, nonce: Buffer.from(nonce).toString('base64') }), code: MALFORMED, reason: /nonce/ },
    { name: 'wrong base64 (padding)', bytes: frame(1, 2, { proof: b64(new Uint8Array(32)) + '=', welcome: 'AAAA' }), code: MALFORMED, reason: /proof/ },
    { name: 'wrong base64 (non-canonical)', bytes: frame(1, 2, { proof: b64(new Uint8Array(32)).slice(0, -1) + 'B', welcome: 'AAAA' }), code: MALFORMED, reason: /proof/ },
    { name: 'base64 field not a string', bytes: frame(1, 1, { ...requestBody, nonce: 42 }), code: MALFORMED, reason: /nonce/ },
    { name: '31-byte nonce', bytes: frame(1, 1, { ...requestBody, nonce: b64(new Uint8Array(31)) }), code: MALFORMED, reason: /nonce/ },
    { name: '33-byte proof', bytes: frame(1, 1, { ...requestBody, proof: b64(new Uint8Array(33)) }), code: MALFORMED, reason: /proof/ },
    { name: '33-byte accept proof', bytes: frame(1, 2, { proof: b64(new Uint8Array(33)), welcome: 'AAAA' }), code: MALFORMED, reason: /proof/ },
    { name: '31-byte public key', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, publicKey: b64(new Uint8Array(31)) } }), code: MALFORMED, reason: /joiner\.publicKey/ },
    { name: 'public key not a point', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, publicKey: b64(notAPoint()) } }), code: MALFORMED, reason: /joiner\.publicKey/ },
    { name: 'upper-case invite id', bytes: frame(1, 1, { ...requestBody, inviteId: inviteId.toUpperCase() }), code: MALFORMED, reason: /inviteId/ },
    { name: 'short invite id', bytes: frame(1, 1, { ...requestBody, inviteId: inviteId.slice(1) }), code: MALFORMED, reason: /inviteId/ },
    { name: "name with '/'", bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, name: 'a/b' } }), code: MALFORMED, reason: /joiner\.name/ },
    { name: 'name starting with a dot', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, name: '.hidden' } }), code: MALFORMED, reason: /joiner\.name/ },
    { name: 'empty name', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, name: '' } }), code: MALFORMED, reason: /joiner\.name/ },
    { name: '65-character name', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, name: 'n'.repeat(65) } }), code: MALFORMED, reason: /joiner\.name/ },
    { name: '17 addresses', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, addresses: Array.from({ length: 17 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`) } }), code: MALFORMED, reason: /joiner\.addresses/ },
    { name: '257-character address', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, addresses: ['/dns/' + 'a'.repeat(252)] } }), code: MALFORMED, reason: /joiner\.addresses\[0\]/ },
    { name: 'address not a string', bytes: frame(1, 1, { ...requestBody, joiner: { ...requestBody.joiner, addresses: [{}] } }), code: MALFORMED, reason: /joiner\.addresses\[0\]/ },
    { name: 'huge message string', bytes: frame(1, 3, { code: 'PAIRING_INVITATION_USED', message: 'x'.repeat(100_000) }), code: MALFORMED, reason: /message/ },
    { name: '501-character message', bytes: frame(1, 3, { code: 'PAIRING_INVITATION_USED', message: 'x'.repeat(501) }), code: MALFORMED, reason: /message/ },
    { name: 'terminal escape in message', bytes: frame(1, 3, { code: 'PAIRING_INVITATION_USED', message: '\u001b[2Jgotcha' }), code: MALFORMED, reason: /message/ },
    { name: 'lower-case reject code', bytes: frame(1, 3, { code: 'pairing_failed', message: '' }), code: MALFORMED, reason: /code/ },
    { name: 'two-letter reject code', bytes: frame(1, 3, { code: 'AB', message: '' }), code: MALFORMED, reason: /code/ },
    { name: '__proto__ key', bytes: frame(1, 3, '{"__proto__":{"admin":true},"code":"ABC","message":""}'), code: MALFORMED, reason: /__proto__/ },
    { name: 'nested __proto__ key', bytes: frame(1, 1, JSON.stringify(requestBody).replace('"joiner":{', '"joiner":{"__proto__":{"polluted":1},')), code: MALFORMED, reason: /__proto__/ },
    { name: 'constructor key', bytes: frame(1, 3, '{"constructor":{"prototype":{}},"code":"ABC","message":""}'), code: MALFORMED },
    { name: 'deeply nested JSON', bytes: bigFrame(1, 1, deep), code: MALFORMED, reason: /nested/ },
    { name: 'deeply nested field', bytes: bigFrame(1, 3, `{"code":"ABC","message":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`), code: MALFORMED, reason: /nested/ },
    { name: '300 KiB frame', bytes: bigFrame(1, 3, JSON.stringify({ code: 'ABC', message: 'x'.repeat(300 * 1024) })), code: MALFORMED, reason: /limit/ },
    { name: 'frame one byte over the limit', bytes: new Uint8Array(MAX_PAIRING_FRAME + 1).fill(0x20).fill(1, 0, 2), code: MALFORMED, reason: /limit/ },
    { name: 'welcome of the most base64 a frame can hold, one character off canonical', bytes: bigFrame(1, 2, JSON.stringify({ proof: b64(new Uint8Array(32)), welcome: 'A'.repeat(262_000 - 64) + 'B' })), code: MALFORMED, reason: /welcome/ },
  ]

  for (const { name, bytes, code, reason } of table) {
    it(`refuses a hostile frame: ${name}`, () => {
      const got = failure(() => decodePairingMessage(bytes))
      expect(got?.code).toBe(code)
      if (reason !== undefined) expect(got?.reason).toMatch(reason)
    })
  }

  it('leaves Object.prototype alone', () => {
    failure(() => decodePairingMessage(frame(1, 3, '{"__proto__":{"polluted":true},"code":"ABC","message":""}')))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses to encode what the peer would refuse', () => {
    const cases: PairingMessage[] = [
      { ...request, nonce: new Uint8Array(31) } as PairingMessage,
      { ...request, joiner: { ...request.joiner, name: 'a b' } } as PairingMessage,
      { type: 'join-reject', code: 'nope', message: '' },
      // Base64 of 197,000 bytes is 262,667 characters: over the frame limit though under the welcome limit.
      { type: 'join-accept', proof: new Uint8Array(32), welcome: new Uint8Array(197_000) },
      { type: 'wat' } as unknown as PairingMessage,
    ]
    for (const message of cases) expect(failure(() => encodePairingMessage(message))?.code).toBe(MALFORMED)
  })

  it('only ever throws the two typed errors on 2,000 random frames', () => {
    const seed = Number(process.env.PAIRING_FUZZ_SEED ?? randomInt(2 ** 31))
    const random = mulberry32(seed)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const valid = [request, accept, reject].map((m) => encodePairingMessage(m))
    const keys = ['inviteId', 'joiner', 'publicKey', 'name', 'addresses', 'nonce', 'proof', 'welcome', 'code', 'message', '__proto__', 'x']
    const randomValue = (depth: number): unknown => {
      const roll = random()
      if (depth > 3 || roll < 0.3) return pick(['', 'AAAA', b64(new Uint8Array(32)), 'ABC', 0, -1, 1e308, true, null, inviteId, 'é\u0000'])
      if (roll < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1))
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(keys), randomValue(depth + 1)]))
    }
    let decoded = 0
    for (let i = 0; i < 2000; i++) {
      let bytes: Uint8Array
      const strategy = i % 5
      if (strategy === 0) {
        bytes = Uint8Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256))
      } else if (strategy === 1) {
        bytes = Uint8Array.from(pick(valid))
        const flips = 1 + Math.floor(random() * 3)
        for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      } else if (strategy === 2) {
        const source = pick(valid)
        bytes = source.slice(0, Math.floor(random() * source.length))
      } else if (strategy === 3) {
        bytes = frame(random() < 0.9 ? 1 : 2, 1 + Math.floor(random() * 3), JSON.stringify(randomValue(0)) ?? '')
      } else {
        const source = pick(valid)
        const at = 2 + Math.floor(random() * (source.length - 2))
        const insert = new TextEncoder().encode(pick(['"', '\\', '{', '}', ',"x":1', '\u00e9', ' ', '[]', 'null']))
        bytes = Uint8Array.of(...source.subarray(0, at), ...insert, ...source.subarray(at))
      }
      try {
        const message = decodePairingMessage(bytes)
        decoded++
        // Whatever decodes must encode and decode back to itself.
        expect(decodePairingMessage(encodePairingMessage(message)), `fuzz seed ${seed}, case ${i}`).toEqual(message)
      } catch (err) {
        const typed = err instanceof PairingFrameMalformedError || err instanceof PairingVersionUnsupportedError
        expect(typed, `fuzz seed ${seed}, case ${i}: ${String(err)} (rerun with PAIRING_FUZZ_SEED=${seed})`).toBe(true)
      }
    }
    // Mutations that stay valid must decode too, so the round-trip check above does run.
    expect(decoded, `fuzz seed ${seed}`).toBeGreaterThan(0)
    expect(decoded, `fuzz seed ${seed}`).toBeLessThan(2000)
  })
})

describe('pairing transcript and proofs', () => {
  const base = { inviteId, meshId, inviterPublicKey: inviter.publicKey, joinerPublicKey: joiner.publicKey, nonce }

  it('is a 32-byte hash that changes when any input changes', () => {
    const transcript = pairingTranscript(base)
    expect(transcript.length).toBe(32)
    expect(toHex(pairingTranscript({ ...base }))).toBe(toHex(transcript))
    const flip = (bytes: Uint8Array) => Uint8Array.from(bytes, (b, i) => (i === bytes.length - 1 ? b ^ 1 : b))
    const variants = {
      inviteId: { ...base, inviteId: inviteId.slice(0, -1) + 'e' },
      meshId: { ...base, meshId: meshId.slice(0, -1) + 'c' },
      inviterPublicKey: { ...base, inviterPublicKey: flip(inviter.publicKey) },
      joinerPublicKey: { ...base, joinerPublicKey: flip(joiner.publicKey) },
      nonce: { ...base, nonce: flip(nonce) },
      swappedKeys: { ...base, inviterPublicKey: joiner.publicKey, joinerPublicKey: inviter.publicKey },
    }
    const seen = new Set([toHex(transcript)])
    for (const [name, variant] of Object.entries(variants)) {
      const hex = toHex(pairingTranscript(variant))
      expect(seen.has(hex), name).toBe(false)
      seen.add(hex)
    }
  })

  it('verifies proofs made with the secret and refuses a wrong secret', () => {
    const transcript = pairingTranscript(base)
    const join = joinProof(secret, transcript)
    const acc = acceptProof(secret, transcript)
    expect(join.length).toBe(32)
    expect(toHex(join)).not.toBe(toHex(acc))
    expect(() => checkProof(joinProof(secret, transcript), join, 'joiner')).not.toThrow()
    expect(() => checkProof(acceptProof(secret, transcript), acc, 'inviter')).not.toThrow()

    const wrongSecret = new Uint8Array(32).fill(4)
    const forgedJoin = joinProof(wrongSecret, transcript)
    const err = (() => {
      try {
        checkProof(join, forgedJoin, 'joiner')
      } catch (e) {
        return e as { code?: string; side?: string }
      }
      return undefined
    })()
    expect(err?.code).toBe('PAIRING_PROOF_INVALID')
    expect(err?.side).toBe('joiner')
    expect(failure(() => checkProof(acc, acceptProof(wrongSecret, transcript), 'inviter'))?.code).toBe('PAIRING_PROOF_INVALID')
    // A join proof is not an accept proof, and a proof for another transcript does not carry over.
    expect(failure(() => checkProof(acc, join, 'inviter'))?.code).toBe('PAIRING_PROOF_INVALID')
    const other = pairingTranscript({ ...base, nonce: new Uint8Array(32) })
    expect(failure(() => checkProof(joinProof(secret, other), join, 'joiner'))?.code).toBe('PAIRING_PROOF_INVALID')
    expect(failure(() => checkProof(join, join.subarray(0, 31), 'joiner'))?.code).toBe('PAIRING_PROOF_INVALID')
  })
})

describe('welcome', () => {
  const transcript = pairingTranscript({ inviteId, meshId, inviterPublicKey: inviter.publicKey, joinerPublicKey: joiner.publicKey, nonce })

  it('round-trips inside a sealed box bound to the transcript', () => {
    const box = sealTo(x25519PublicFromEd25519(joiner.publicKey), encodeWelcome(welcome), transcript)
    const frameBytes = encodePairingMessage({ type: 'join-accept', proof: acceptProof(secret, transcript), welcome: box })
    const received = decodePairingMessage(frameBytes)
    if (received.type !== 'join-accept') throw new Error('expected join-accept')
    checkProof(acceptProof(secret, transcript), received.proof, 'inviter')
    expect(decodeWelcome(openSealed(joiner.x25519SecretKey, received.welcome, transcript), 'member')).toEqual(welcome)

    const otherTranscript = pairingTranscript({ inviteId, meshId, inviterPublicKey: inviter.publicKey, joinerPublicKey: joiner.publicKey, nonce: new Uint8Array(32) })
    expect(failure(() => openSealed(joiner.x25519SecretKey, received.welcome, otherTranscript))?.code).toBe('IDENTITY_SEAL_OPEN_FAILED')
    expect(failure(() => openSealed(inviter.x25519SecretKey, received.welcome, transcript))?.code).toBe('IDENTITY_SEAL_OPEN_FAILED')
  })

  it('fits a large roster and many keys in one frame', () => {
    const big: MemberWelcome = {
      ...welcome,
      meshKeys: Array.from({ length: 300 }, (_, i) => ({ epoch: i + 1, key: new Uint8Array(32).fill(i % 256) })),
      roster: new Uint8Array(100 * 1024).fill(7),
    }
    const box = sealTo(joiner.x25519PublicKey, encodeWelcome(big), transcript)
    const decoded = decodePairingMessage(encodePairingMessage({ type: 'join-accept', proof: new Uint8Array(32), welcome: box }))
    if (decoded.type !== 'join-accept') throw new Error('expected join-accept')
    expect(decodeWelcome(openSealed(joiner.x25519SecretKey, decoded.welcome, transcript), 'member')).toEqual(big)
  })

  it('accepts the largest epoch, 2^31', () => {
    const w = decodeWelcome(json(welcomeJson({ meshKeys: [{ epoch: 2 ** 31, key: b64(new Uint8Array(32)) }] })), 'member')
    expect(w.meshKeys[0]?.epoch).toBe(2 ** 31)
  })

  const key = (epoch: unknown, bytes = 32) => ({ epoch, key: b64(new Uint8Array(bytes)) })
  const badShapes: Array<[string, Uint8Array, RegExp?]> = [
    ['empty', new Uint8Array(0), /not JSON/],
    ['not JSON', json('{"meshId":'), /not JSON/],
    ['not UTF-8', Uint8Array.of(0x7b, 0xc0, 0x7d), /UTF-8/],
    ['array', json([]), /body/],
    ['bad mesh id', json(welcomeJson({ meshId: 'm1' })), /meshId/],
    ['missing mesh id', json(welcomeJson({ meshId: undefined })), /meshId/],
    ['extra field', json(welcomeJson({ relay: 'x' })), /unknown field "relay"/],
    ['extra agent field', json(welcomeJson({ agent: { name: 'echo', seed: b64(new Uint8Array(32)), role: 'x' } })), /agent/],
    ['31-byte seed', json(welcomeJson({ agent: { name: 'echo', seed: b64(new Uint8Array(31)) } })), /agent\.seed/],
    ['33-byte seed', json(welcomeJson({ agent: { name: 'echo', seed: b64(new Uint8Array(33)) } })), /agent\.seed/],
    ['bad agent name', json(welcomeJson({ agent: { name: 'a b', seed: b64(new Uint8Array(32)) } })), /agent\.name/],
    ['31-byte mesh key', json(welcomeJson({ meshKeys: [key(1, 31)] })), /meshKeys\[0\]\.key/],
    ['33-byte mesh key', json(welcomeJson({ meshKeys: [key(1, 33)] })), /meshKeys\[0\]\.key/],
    ['epoch 0', json(welcomeJson({ meshKeys: [key(0)] })), /meshKeys\[0\]\.epoch/],
    ['negative epoch', json(welcomeJson({ meshKeys: [key(-3)] })), /epoch/],
    ['fractional epoch', json(welcomeJson({ meshKeys: [key(1.5)] })), /epoch/],
    ['epoch over 2^31', json(welcomeJson({ meshKeys: [key(2 ** 31 + 1)] })), /epoch/],
    ['epoch as string', json(welcomeJson({ meshKeys: [key('1')] })), /epoch/],
    ['epoch 1e999', json(JSON.stringify(welcomeJson({ meshKeys: [key(7)] })).replace('"epoch":7', '"epoch":1e999')), /epoch/],
    ['repeated epoch', json(welcomeJson({ meshKeys: [key(1), key(1)] })), /epoch/],
    ['no mesh keys', json(welcomeJson({ meshKeys: [] })), /meshKeys/],
    ['1025 mesh keys', json(welcomeJson({ meshKeys: Array.from({ length: 1025 }, (_, i) => key(i + 1)) })), /meshKeys/],
    // Base64 of more than 150 KiB is more than 200 KiB of text, so the size guard answers first.
    ['roster over 150 KiB', json(welcomeJson({ roster: b64(new Uint8Array(150 * 1024 + 1)) })), /limit|roster/],
    ['roster not base64', json(welcomeJson({ roster: 'not base64!' })), /roster/],
    ['__proto__ key', json(JSON.stringify(welcomeJson()).replace('{', '{"__proto__":{"x":1},')), /__proto__/],
    ['deep nesting', json('['.repeat(10_000)), /nested/],
    ['over 200 KiB', new Uint8Array(200 * 1024 + 1).fill(0x20), /limit/],
  ]
  for (const [name, bytes, reason] of badShapes) {
    it(`refuses a bad welcome: ${name}`, () => {
      const got = failure(() => decodeWelcome(bytes, 'member'))
      expect(got?.code).toBe('PAIRING_FRAME_MALFORMED')
      if (reason !== undefined) expect(got?.reason).toMatch(reason)
    })
  }

  it('refuses to encode a welcome the joiner would refuse', () => {
    expect(failure(() => encodeWelcome({ ...welcome, agent: { name: 'echo', seed: new Uint8Array(31) } }))?.code).toBe('PAIRING_FRAME_MALFORMED')
    expect(failure(() => encodeWelcome({ ...welcome, meshKeys: [{ epoch: 0, key: new Uint8Array(32) }] }))?.code).toBe('PAIRING_FRAME_MALFORMED')
    expect(failure(() => encodeWelcome({ ...welcome, roster: new Uint8Array(151 * 1024) }))?.code).toBe('PAIRING_FRAME_MALFORMED')
  })
})

describe('witness welcome', () => {
  const transcript = pairingTranscript({ inviteId, meshId, inviterPublicKey: inviter.publicKey, joinerPublicKey: joiner.publicKey, nonce })

  it('round-trips inside a sealed box bound to the transcript', () => {
    const box = sealTo(x25519PublicFromEd25519(joiner.publicKey), encodeWelcome(witnessWelcome), transcript)
    expect(decodeWelcome(openSealed(joiner.x25519SecretKey, box, transcript), 'witness')).toEqual(witnessWelcome)
  })

  it('carries the role, the public key and no secret on the wire', () => {
    const body = JSON.parse(new TextDecoder().decode(encodeWelcome(witnessWelcome))) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['agent', 'meshId', 'role', 'roster'])
    expect(body.role).toBe('witness')
    expect(body.agent).toEqual({ name: 'echo', publicKey: b64(agentKey) })
  })

  it('leaves the member welcome on the wire as it was, with no role field', () => {
    const body = JSON.parse(new TextDecoder().decode(encodeWelcome(welcome))) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['agent', 'meshId', 'meshKeys', 'roster'])
  })

  it('refuses a member welcome where a witness welcome is expected', () => {
    const got = failure(() => decodeWelcome(encodeWelcome(welcome), 'witness'))
    expect(got?.code).toBe('PAIRING_FRAME_MALFORMED')
    expect(got?.reason).toMatch(/member's welcome where a witness's was expected/)
  })

  it('refuses a witness welcome where a member welcome is expected', () => {
    const got = failure(() => decodeWelcome(encodeWelcome(witnessWelcome), 'member'))
    expect(got?.code).toBe('PAIRING_FRAME_MALFORMED')
    expect(got?.reason).toMatch(/witness's welcome where a member's was expected/)
  })

  it('refuses a member welcome that claims another role', () => {
    for (const role of ['member', 'leader', 1]) {
      const got = failure(() => decodeWelcome(json(welcomeJson({ role })), 'member'))
      expect(got?.code, String(role)).toBe('PAIRING_FRAME_MALFORMED')
      expect(got?.reason, String(role)).toMatch(/unknown field "role"/)
    }
  })

  const badShapes: Array<[string, Uint8Array, RegExp]> = [
    ['agent seed', json(witnessWelcomeJson({ agent: { name: 'echo', publicKey: b64(agentKey), seed: b64(new Uint8Array(32).fill(8)) } })), /agent: unknown field "seed"/],
    ['seed instead of public key', json(witnessWelcomeJson({ agent: { name: 'echo', seed: b64(new Uint8Array(32).fill(8)) } })), /agent/],
    ['mesh keys', json(witnessWelcomeJson({ meshKeys: [{ epoch: 1, key: b64(new Uint8Array(32).fill(9)) }] })), /unknown field "meshKeys"/],
    ['31-byte public key', json(witnessWelcomeJson({ agent: { name: 'echo', publicKey: b64(agentKey.subarray(1)) } })), /agent\.publicKey: must be exactly 32 bytes/],
    ['33-byte public key', json(witnessWelcomeJson({ agent: { name: 'echo', publicKey: b64(Uint8Array.of(...agentKey, 1)) } })), /agent\.publicKey/],
    ['public key not a point', json(witnessWelcomeJson({ agent: { name: 'echo', publicKey: b64(notAPoint()) } })), /agent\.publicKey: is not an Ed25519 public key/],
    ['public key not base64', json(witnessWelcomeJson({ agent: { name: 'echo', publicKey: 'not base64!' } })), /agent\.publicKey/],
    ['missing public key', json(witnessWelcomeJson({ agent: { name: 'echo' } })), /agent\.publicKey/],
    ['bad agent name', json(witnessWelcomeJson({ agent: { name: 'a b', publicKey: b64(agentKey) } })), /agent\.name/],
    ['another role', json(witnessWelcomeJson({ role: 'leader' })), /role: must be "witness"/],
    ['bad mesh id', json(witnessWelcomeJson({ meshId: 'm1' })), /meshId/],
    ['roster not base64', json(witnessWelcomeJson({ roster: 'not base64!' })), /roster/],
    ['extra field', json(witnessWelcomeJson({ relay: 'x' })), /unknown field "relay"/],
    ['array', json([]), /body/],
    ['__proto__ key', json(JSON.stringify(witnessWelcomeJson()).replace('{', '{"__proto__":{"x":1},')), /__proto__/],
  ]
  for (const [name, bytes, reason] of badShapes) {
    it(`refuses a bad witness welcome: ${name}`, () => {
      const got = failure(() => decodeWelcome(bytes, 'witness'))
      expect(got?.code).toBe('PAIRING_FRAME_MALFORMED')
      expect(got?.reason).toMatch(reason)
    })
  }

  it('refuses to encode a witness welcome the witness would refuse', () => {
    const bad: WitnessWelcome[] = [
      { ...witnessWelcome, agent: { name: 'echo', publicKey: new Uint8Array(31) } },
      { ...witnessWelcome, agent: { name: 'echo', publicKey: notAPoint() } },
      { ...witnessWelcome, roster: new Uint8Array(151 * 1024) },
      { ...witnessWelcome, seed: new Uint8Array(32) } as WitnessWelcome,
    ]
    // The last one encodes: encodeWelcome writes only the fields a witness welcome has.
    for (const w of bad.slice(0, 3)) expect(failure(() => encodeWelcome(w))?.code).toBe('PAIRING_FRAME_MALFORMED')
    const body = JSON.parse(new TextDecoder().decode(encodeWelcome(bad[3] as WitnessWelcome))) as Record<string, unknown>
    expect(body).not.toHaveProperty('seed')
    expect(failure(() => encodeWelcome({ ...witnessWelcome, role: 'leader' } as unknown as WitnessWelcome))?.code).toBe('PAIRING_FRAME_MALFORMED')
  })
})

