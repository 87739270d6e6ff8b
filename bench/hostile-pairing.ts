/**
 * Hostile frames on /instar/pair/1.0.0, sent to a node as if it were an inviter: garbage and
 * mutated join requests, join requests for unknown invitations, for an open one under another
 * machine's key or (from a member) its own, with a proof that is wrong, answers (accept,
 * reject) where a request belongs, frames over MAX_PAIRING_FRAME and lying prefixes, and
 * streams left silent. Each pairing stream gets one frame and one answer, so each attack is
 * one frame; `must` holds the refusal code the victim logs, which its rate limiter may turn
 * into PAIRING_RATE_LIMITED (`orElse`).
 */
import { generateSeed, keyPairFromSeed } from '../identity/index.js'
import { MAX_PAIRING_FRAME, decodePairingMessage, encodePairingMessage } from '../mesh/pairing-protocol.js'
import { concat, fragment, int, mutate, pick, prefixed, randomBytes, varint, type Attack, type Random } from './hostile-wire.js'

export interface PairingContext {
  /** The sender's own machine public key. */
  publicKey: Uint8Array
  /** Whether the victim knows the sender as a member or its witness. */
  participant: boolean
  /** Ids of invitations the victim holds open (unused, unexpired). */
  openInvites: string[]
}

const hex = (random: Random, bytes: number): string => Array.from(randomBytes(random, bytes), (b) => b.toString(16).padStart(2, '0')).join('')

function joinRequest(random: Random, inviteId: string, publicKey: Uint8Array): Uint8Array {
  return encodePairingMessage({
    type: 'join-request',
    inviteId,
    joiner: { publicKey, name: pick(random, ['late', 'x', 'A'.repeat(64), 'n0-_.']), addresses: Array.from({ length: int(random, 0, 16) }, (_, i) => `/ip4/127.0.0.${i}/tcp/${int(random, 1, 65535)}`) },
    nonce: randomBytes(random, 32),
    proof: randomBytes(random, 32),
  })
}

/** The code an inviter refuses `frame` with (the frame read whole and in time). */
export function pairingRefusal(frame: Uint8Array, ctx: PairingContext, senderPeerMatches: (publicKey: Uint8Array) => boolean): string {
  let message
  try {
    message = decodePairingMessage(frame)
  } catch (err) {
    return (err as { code: string }).code
  }
  if (message.type !== 'join-request') return 'PAIRING_FRAME_MALFORMED'
  if (!ctx.openInvites.includes(message.inviteId)) return 'PAIRING_INVITATION_UNKNOWN'
  if (!senderPeerMatches(message.joiner.publicKey)) return 'PAIRING_PEER_MISMATCH'
  return ctx.participant ? 'PAIRING_ALREADY_MEMBER' : 'PAIRING_PROOF_INVALID'
}

export function pairingAttack(random: Random, ctx: PairingContext): Attack {
  const own = (key: Uint8Array): boolean => key.length === ctx.publicKey.length && key.every((b, i) => b === ctx.publicKey[i])
  const roll = random()
  const base = { protocol: 'pairing' as const, orElse: ['PAIRING_RATE_LIMITED'] }
  // Whatever it sent, the stream may end before the answer could be written (we reset or closed it).
  const may = ['PAIRING_REPLY_FAILED', 'PAIRING_FAILED']
  if (roll < 0.1) {
    const big = random() < 0.5
    const bytes = big ? prefixed(randomBytes(random, int(random, MAX_PAIRING_FRAME + 1, MAX_PAIRING_FRAME + 4096))) : concat([varint(pick(random, [BigInt(MAX_PAIRING_FRAME) + 1n, 1n << 40n])), randomBytes(random, 16)])
    // The read fails before the rate limiter sees a frame.
    return { ...base, kind: big ? 'oversize' : 'lying-prefix', pieces: fragment(random, bytes), end: 'close', must: ['PAIRING_FAILED'], may, orElse: [] }
  }
  if (roll < 0.16) {
    // Nothing, or half a frame, and silence: answered PAIRING_FAILED when the read times out.
    const frame = prefixed(joinRequest(random, hex(random, 16), ctx.publicKey))
    return { ...base, kind: 'abandoned', pieces: [frame.subarray(0, int(random, 0, frame.length - 1))], end: 'abandon', must: [], may }
  }
  let frame: Uint8Array
  let kind: string
  const invite = ctx.openInvites.length > 0 && random() < 0.5 ? pick(random, ctx.openInvites) : hex(random, 16)
  if (roll < 0.4) {
    kind = 'join-request'
    frame = joinRequest(random, invite, random() < 0.5 ? ctx.publicKey : keyPairFromSeed(generateSeed()).publicKey)
  } else if (roll < 0.55) {
    kind = 'answer'
    frame =
      random() < 0.5
        ? encodePairingMessage({ type: 'join-accept', proof: randomBytes(random, 32), welcome: randomBytes(random, int(random, 1, 4096)) })
        : encodePairingMessage({ type: 'join-reject', code: pick(random, ['PAIRING_INVITATION_USED', 'ABC', 'Z'.repeat(64)]), message: 'no' })
  } else {
    kind = 'garbage'
    frame = mutate(random, joinRequest(random, invite, ctx.publicKey))
    if (frame.length === 0) frame = Uint8Array.of(1)
  }
  return { ...base, kind, pieces: fragment(random, prefixed(frame)), end: 'close', must: [pairingRefusal(frame, ctx, own)], may }
}
