/**
 * Hostile frames on /instar/roster/1.0.0: frames that break the header, Yjs garbage, a second
 * genesis (signed with the agent key when the sender holds it, as every member and every
 * removed machine does), events signed by machines that are not members, with bad signatures,
 * for another mesh, under a key that is not their id, with extreme times and deps that point
 * nowhere; address and mesh key records of strangers and of others; a self-contained update
 * that costs count^2 steps to apply even to an empty document; frames over MAX_ROSTER_FRAME;
 * half-written streams; and, for contrast, the sender's whole roster as an honest push.
 * Each frame carries the sender's roster plus the forgeries, as a member's push would.
 */
import * as Y from 'yjs'
import { fromHex, generateMeshKey, generateSeed, keyPairFromSeed, toHex } from '../identity/index.js'
import { encodeRosterEvent, machinePeerId, type RosterEventType } from '../mesh/roster-events.js'
import { createRosterRecords } from '../mesh/roster-records.js'
import { MAX_ROSTER_FRAME, encodeRosterState } from '../mesh/roster-sync-protocol.js'
import { selfContainedInserts } from './hostile-updates.js'
import { concat, fragment, int, mutate, pick, prefixed, randomBytes, varint, type Attack, type Random } from './hostile-wire.js'

export interface RosterContext {
  meshId: string
  /** The agent key, if the sender holds it (a member, or a removed machine). */
  agentSeed: Uint8Array | null
  /** The sender's machine seed. */
  senderSeed: Uint8Array
  /** Whether the sender is a member (it may then publish its own address record). */
  senderIsMember: boolean
  /** The sender's roster, whole (what its honest push would carry). */
  state(): Uint8Array
  /** Ids of events that count on the victim (deps that resolve and leave nothing pending). */
  heads(): string[]
  /** Peer ids the victim knows as members or witness (never the sender). */
  others: string[]
}

/** Codes a victim logs for roster entries that a push relays (so any victim may log them for any frame). */
export const ROSTER_RELAY_CODES = ['ROSTER_NOT_MEMBER', 'ROSTER_SIGNER_REMOVED', 'ROSTER_EVENT_INVALID']

const publicHex = (seed: Uint8Array): string => toHex(keyPairFromSeed(seed).publicKey)
const name = (random: Random): string => pick(random, ['x', 'usurper', 'a'.repeat(64), '0._-'])
/** A time at an edge, or one like today's (in ms). */
const at = (random: Random): number => pick(random, [0, 1, 1_800_000_000_000, Number.MAX_SAFE_INTEGER, int(random, 0, 2 ** 40)])

function withState(ctx: RosterContext, edit: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, ctx.state())
  edit(doc)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

const records = (doc: Y.Doc, meshId: string, members: string[]) =>
  createRosterRecords({ addresses: doc.getMap('addresses'), keys: doc.getMap('keys'), meshId, members: () => new Map(members.map((m) => [m, true])), removed: () => false, peerOf: (hex) => machinePeerId(fromHex(hex)) })

function attack(kind: string, random: Random, frame: Uint8Array, must: string[], extra: Partial<Attack> = {}): Attack {
  return { protocol: 'roster', kind, pieces: fragment(random, prefixed(frame)), end: 'close', must, may: ROSTER_RELAY_CODES, ...extra }
}

export function rosterAttack(random: Random, ctx: RosterContext): Attack {
  const roll = random()
  if (roll < 0.08) {
    const frame = pick(random, [new Uint8Array(int(random, 0, 2)), concat([Uint8Array.of(int(random, 2, 255), 1), randomBytes(random, 8)]), concat([Uint8Array.of(1, pick(random, [0, 2, 255])), randomBytes(random, 8)])])
    return attack('malformed-frame', random, frame, ['ROSTER_FRAME_MALFORMED'])
  }
  if (roll < 0.16) {
    const update = random() < 0.5 ? randomBytes(random, int(random, 1, 256)) : mutate(random, ctx.state())
    return attack('garbage-update', random, encodeRosterState(update.length === 0 ? Uint8Array.of(0) : update), [], { may: [...ROSTER_RELAY_CODES, 'ROSTER_FRAME_MALFORMED', 'ROSTER_GENESIS_FOREIGN'] })
  }
  if (roll < 0.26) {
    // A second genesis: with the agent key, or its own (the id is what is pinned, so both are refused whole).
    const signer = ctx.agentSeed ?? ctx.senderSeed
    const fake = encodeRosterEvent(signer, { v: 1, type: 'genesis', mesh: ctx.meshId, subject: { publicKey: publicHex(generateSeed()), name: name(random) }, signer: publicHex(signer), at: at(random), deps: [] })
    return attack('foreign-genesis', random, encodeRosterState(withState(ctx, (doc) => doc.getMap('events').set(fake.id, fake.bytes))), ['ROSTER_GENESIS_FOREIGN'])
  }
  if (roll < 0.46) {
    // Events that verify but whose signer is no member: kept, counted for nothing.
    const stranger = generateSeed()
    const kept: Array<{ id: string; bytes: Uint8Array }> = []
    const invalid: Array<{ key: string; value: unknown }> = []
    for (let i = int(random, 1, 4); i > 0; i--) {
      const type = pick<RosterEventType>(random, ['add', 'remove', 'witness'])
      const subject = random() < 0.5 && ctx.others.length > 0 ? { publicKey: publicHex(generateSeed()), name: 'b' } : { publicKey: publicHex(generateSeed()), name: name(random) }
      kept.push(encodeRosterEvent(stranger, { v: 1, type, mesh: ctx.meshId, subject, signer: publicHex(stranger), at: at(random), deps: random() < 0.5 ? [] : ctx.heads().slice(0, 64) }))
    }
    const forged = encodeRosterEvent(stranger, { v: 1, type: 'add', mesh: ctx.meshId, subject: { publicKey: publicHex(generateSeed()), name: 'x' }, signer: publicHex(ctx.senderSeed), at: 1, deps: [] })
    const foreign = encodeRosterEvent(stranger, { v: 1, type: 'add', mesh: `m${'0'.repeat(32)}`, subject: { publicKey: publicHex(generateSeed()), name: 'x' }, signer: publicHex(stranger), at: 1, deps: [] })
    const pending = encodeRosterEvent(stranger, { v: 1, type: 'add', mesh: ctx.meshId, subject: { publicKey: publicHex(generateSeed()), name: 'x' }, signer: publicHex(stranger), at: 1, deps: Array.from({ length: int(random, 1, 64) }, () => toHex(randomBytes(random, 32))) })
    const bad = random() < 0.5
    if (bad) {
      invalid.push({ key: forged.id, value: forged.bytes }, { key: foreign.id, value: foreign.bytes }, { key: toHex(randomBytes(random, 32)), value: kept[0]?.bytes }, { key: 'not-an-id', value: 42 })
    }
    const update = withState(ctx, (doc) => {
      const events = doc.getMap<unknown>('events')
      for (const e of [...kept, pending]) events.set(e.id, e.bytes)
      for (const e of invalid) events.set(e.key, e.value)
    })
    return attack('forged-events', random, encodeRosterState(update), bad ? ['ROSTER_NOT_MEMBER', 'ROSTER_EVENT_INVALID'] : ['ROSTER_NOT_MEMBER'], { keptEvents: [...kept, pending].map((e) => e.id) })
  }
  if (roll < 0.62) {
    // Address records of machines that are no participants, one for another machine under
    // the sender's key, and a mesh key record signed by a stranger.
    const strangers = Array.from({ length: int(random, 1, 20) }, () => generateSeed())
    const update = withState(ctx, (doc) => {
      const r = records(doc, ctx.meshId, [publicHex(strangers[0] as Uint8Array)])
      for (const s of strangers) r.publishAddresses(s, Array.from({ length: int(random, 0, 16) }, (_, i) => `/ip4/10.0.0.${i}/tcp/${int(random, 1, 65535)}`), at(random))
      const other = ctx.others[0]
      if (other !== undefined) {
        const own = doc.getMap<Uint8Array>('addresses')
        const sender = machinePeerId(keyPairFromSeed(ctx.senderSeed).publicKey)
        try {
          r.publishAddresses(ctx.senderSeed, ['/ip4/127.0.0.1/tcp/9'], 1)
        } catch {
          // The sender's own record is at the largest time already: nothing newer can be signed.
        }
        const bytes = own.get(sender)
        if (bytes !== undefined) own.set(other, bytes)
        // Back to the sender's honest record, so only the copy under `other` is forged.
        const honest = new Y.Doc()
        Y.applyUpdate(honest, ctx.state())
        const kept = honest.getMap<Uint8Array>('addresses').get(sender)
        if (kept !== undefined) own.set(sender, kept)
        else own.delete(sender)
        honest.destroy()
      }
      r.publishMeshKey(strangers[0] as Uint8Array, generateMeshKey(pick(random, [1, 2, 0xffff_ffff])), at(random))
    })
    return attack('stranger-records', random, encodeRosterState(update), ['ROSTER_NOT_MEMBER'])
  }
  if (roll < 0.7) {
    const count = int(random, 3000, 20_000)
    return attack('costly-update', random, encodeRosterState(selfContainedInserts('events', toHex(randomBytes(random, 32)), count)), ['ROSTER_UPDATE_TOO_COSTLY'])
  }
  if (roll < 0.76) {
    const big = random() < 0.5
    const bytes = big ? prefixed(concat([Uint8Array.of(1, 1), randomBytes(random, MAX_ROSTER_FRAME)])) : concat([varint(pick(random, [BigInt(MAX_ROSTER_FRAME) + 1n, 1n << 40n])), randomBytes(random, 16)])
    return { protocol: 'roster', kind: big ? 'oversize' : 'lying-prefix', pieces: fragment(random, bytes), end: 'close', must: ['ROSTER_FRAME_MALFORMED'], may: ROSTER_RELAY_CODES }
  }
  if (roll < 0.82) {
    const frame = prefixed(encodeRosterState(ctx.state()))
    return { protocol: 'roster', kind: 'abandoned', pieces: [frame.subarray(0, int(random, 0, frame.length - 1))], end: 'abandon', must: [], may: [...ROSTER_RELAY_CODES, 'ROSTER_SYNC_FAILED'] }
  }
  if (roll < 0.9 && ctx.senderIsMember) {
    // A member's own address record, at an extreme time and with as many addresses as allowed: a write it may make.
    const update = withState(ctx, (doc) => {
      try {
        records(doc, ctx.meshId, []).publishAddresses(ctx.senderSeed, Array.from({ length: 16 }, (_, i) => `/ip4/127.0.0.${i + 1}/tcp/${int(random, 1, 65535)}`), at(random))
      } catch {
        // Its record is at the largest time already (an earlier run of this branch): push it as it is.
      }
    })
    return attack('own-addresses', random, encodeRosterState(update), [])
  }
  return attack('honest-push', random, encodeRosterState(ctx.state()), [])
}
