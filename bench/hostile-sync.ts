/**
 * Hostile frames on /instar/sync/2.0.0 from a member that holds the real mesh key: garbage
 * and mutated frames of every type, frames for documents that do not exist, state vectors at
 * the limits, updates sealed with a wrong key, an unknown epoch, for another document or mesh,
 * tampered or cut short; updates sealed right that break the document's schema, cost too much
 * (concurrent inserts after a real entry, a flood of sets of one key) or need structs nobody
 * has; chunk sequences with extreme ids, indexes, counts and totals, in and out of order;
 * REFUSED, DONE, ACK and CREDIT frames; frames over MAX_SYNC_FRAME and lying prefixes; and,
 * for contrast, legitimate entries as a member writes them, whole or in chunks.
 *
 * Sync attacks go on one long-lived stream per victim (a new stream replaces the last); what
 * the victim logs is worked out with the real decoder and a mirror of the victim's reassembly
 * of that stream (crdt/sync-reassembly.ts), so a chunk's fate is known before it is sent.
 */
import * as Y from 'yjs'
import { MAX_SYNC_FRAME, encodeSyncMessage, encodeSyncMessageFrame, sealUpdate, syncFrameCount, type DocName } from '../crdt/index.js'
import { MAX_SYNC_MESSAGE_BYTES, chunkDataBytes, decodeSyncMessage, type SyncMessage } from '../crdt/sync-protocol.js'
import type { Reassembler } from '../crdt/sync-reassembly.js'
import { generateMeshKey, type MeshKey } from '../identity/index.js'
import { concurrentInserts, itemOf, keyFlood } from './hostile-updates.js'
import { concat, extremeU32, int, mutate, pick, prefixed, randomBytes, varint, type Attack, type LegitWrite, type Random } from './hostile-wire.js'

export interface SyncContext {
  meshId: string
  key: MeshKey
  /** The sender's copy of the victim's memory document (for origins that exist there). */
  memory: Y.Doc
  /** Mirror of the victim's reassembly of the current stream. */
  reassembler: Reassembler
  /** Sealed boxes sent before (replayed now and then). */
  sent: Uint8Array[]
  /** Tells apart the legitimate entries of one run. */
  tag: string
}

export interface SyncAttack extends Attack {
  /** The victim resets the stream after it (a frame it cannot skip, or a flow rule broken). */
  resets: boolean
}

const REJECTED = 'SYNC_UPDATE_REJECTED'
let legitCounter = 0

/** A fresh client id per update, far from the victims' (so nothing depends on a struct it did not send). */
const freshDoc = (random: Random): Y.Doc => {
  const doc = new Y.Doc()
  doc.clientID = 2 ** 31 + Math.floor(random() * 2 ** 30)
  return doc
}
const updateOf = (doc: Y.Doc): Uint8Array => {
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/** Memory entries as the memory model writes them: plain records under new keys. */
function legitEntries(random: Random, ctx: SyncContext): { update: Uint8Array; legit: LegitWrite[] } {
  const doc = freshDoc(random)
  const legit: LegitWrite[] = []
  const entries = doc.getMap('entries')
  for (let i = int(random, 1, 5); i > 0; i--) {
    const key = `legit-${ctx.tag}-${++legitCounter}`
    const value = { topic: 'hostile', text: pick(random, ['hello', 'x'.repeat(int(random, 0, 20_000)), '\u202e\u0007\u0000 odd text']), tags: [], author: 'mallory', createdAt: 1, updatedAt: 1 }
    entries.set(key, value)
    legit.push({ doc: 'memory', root: 'entries', key, value })
  }
  return { update: updateOf(doc), legit }
}

/** Updates the schema of their document refuses, all under keys starting with "bad-". */
function schemaBreaking(random: Random): { doc: DocName; update: Uint8Array } {
  const doc = freshDoc(random)
  const which = int(random, 0, 7)
  const target: DocName = which === 5 ? 'jobs' : which === 6 ? 'channels' : which === 7 ? 'secrets' : 'memory'
  switch (which) {
    case 0:
      doc.getText('entries').insert(0, 'bad-text')
      break
    case 1:
      doc.getMap('evil').set('bad-root', 1)
      break
    case 2:
      doc.getMap('entries').set(`bad-${'k'.repeat(300)}`, { text: 'long key' })
      break
    case 3: {
      const nested = new Y.Map<unknown>()
      doc.getMap('entries').set('bad-nested', nested)
      nested.set('deeper', new Y.Map())
      break
    }
    case 4:
      doc.getMap('entries').set('bad-large', 'x'.repeat(40 * 1024))
      break
    case 5:
      doc.getMap('jobs').set('bad-plain-job', { cron: '* * * * *' })
      break
    case 6:
      doc.getMap('anything').set('bad-channel', 1)
      break
    default:
      doc.getMap('secrets').set('bad-secret', 'x'.repeat(int(random, 64 * 1024, 200 * 1024)))
  }
  return { doc: target, update: updateOf(doc) }
}

/**
 * Whole-message frames of a STEP2 or UPDATE, chunked when it does not fit one, with the codes
 * the victim logs for them: each goes through the oracle (and so the mirror), since junk chunks
 * earlier on the same stream may hold the id or the room the message needs. `whole` says the
 * victim puts it together and opens it.
 */
function framesOf(ctx: SyncContext, type: 'step2' | 'update', doc: DocName, sealed: Uint8Array, id: number): { frames: Uint8Array[]; must: string[]; whole: boolean } {
  const count = syncFrameCount(doc, sealed.length)
  const frames = Array.from({ length: count }, (_, i) => encodeSyncMessageFrame({ type, doc, sealed }, id, i))
  const must = new Set<string>()
  for (const frame of frames) for (const code of oracle(ctx, frame).must) must.add(code)
  return { frames, must: [...must], whole: must.has(REJECTED) }
}

const sealedAttack = (kind: string, frames: Uint8Array[], must: string[], extra: Partial<SyncAttack> = {}): SyncAttack => ({
  protocol: 'sync',
  kind,
  pieces: frames.map(prefixed),
  end: 'close',
  must,
  may: [],
  resets: false,
  ...extra,
})

/** What the victim logs for one decoded-or-not frame; chunks go through the mirror. */
function oracle(ctx: SyncContext, frame: Uint8Array): { must: string[]; resets: boolean } {
  if (frame.length > MAX_SYNC_FRAME) return { must: ['SYNC_FRAME_TOO_LARGE'], resets: true }
  let m: SyncMessage
  try {
    m = decodeSyncMessage(frame)
  } catch {
    return { must: ['SYNC_FRAME_MALFORMED'], resets: false }
  }
  if (m.type === 'credit') return { must: ['SYNC_FLOW_VIOLATION'], resets: true }
  if (!['memory', 'relationships', 'jobs', 'channels', 'secrets'].includes(m.doc)) return { must: [REJECTED], resets: false }
  switch (m.type) {
    case 'step2':
    case 'update':
      return { must: [REJECTED], resets: false }
    case 'refused':
      return { must: ['SYNC_REFUSED_BY_PEER'], resets: false }
    case 'chunk':
      try {
        // A whole message put together from junk chunks fails to open.
        return { must: ctx.reassembler.add(m) === null ? [] : [REJECTED], resets: false }
      } catch {
        return { must: ['SYNC_CHUNK_REFUSED'], resets: false }
      }
    default:
      return { must: [], resets: false }
  }
}

function junkFrame(random: Random): Uint8Array {
  const doc = pick(random, ['memory', 'jobs', 'channels', 'zebra', 'a', 'x'.repeat(32)])
  const m: SyncMessage = pick<() => SyncMessage>(random, [
    () => ({ type: 'step1', doc, stateVector: Uint8Array.of(0) }),
    () => ({ type: 'update', doc, sealed: randomBytes(random, int(random, 1, 128)) }),
    () => ({ type: 'step2', doc, sealed: randomBytes(random, int(random, 1, 128)) }),
    () => ({ type: 'done', doc }),
    () => ({ type: 'ack', doc, count: extremeU32(random) }),
    () => ({ type: 'refused', doc, of: pick(random, ['step2', 'update'] as const), code: pick(random, ['X', 'SYNC_UPDATE_REJECTED', 'Z'.repeat(64)]), reason: pick(random, ['', 'r'.repeat(200)]) }),
    () => ({ type: 'chunk', doc, of: 'update', id: extremeU32(random), index: int(random, 0, 3), count: int(random, 2, 5), total: int(random, 5, 64), data: randomBytes(random, int(random, 1, 8)) }),
  ])()
  try {
    return encodeSyncMessage(m)
  } catch {
    // Fields the encoder will not send (a chunk index past its count): send the bytes of a done.
    return encodeSyncMessage({ type: 'done', doc: 'memory' })
  }
}

/** A state vector of up to `entries` clients with clocks at the edges (it must stay under the frame limit). */
function stateVector(random: Random, entries: number): Uint8Array {
  const parts: Uint8Array[] = [varint(entries)]
  const seen = new Set<number>()
  while (seen.size < entries) {
    const client = pick(random, [seen.size, int(random, 0, 2 ** 32 - 1), Number.MAX_SAFE_INTEGER - seen.size])
    if (seen.has(client)) continue
    seen.add(client)
    parts.push(varint(client), varint(pick(random, [0, 1, 2 ** 31, Number.MAX_SAFE_INTEGER])))
  }
  return concat(parts)
}

export function syncAttack(random: Random, ctx: SyncContext): SyncAttack {
  const roll = random()
  const seal = (doc: DocName, update: Uint8Array, key = ctx.key, meshId = ctx.meshId): Uint8Array => sealUpdate(key, meshId, doc, update)
  const id = (): number => extremeU32(random)
  if (roll < 0.14) {
    // Garbage: the decoder and the mirror say what each frame earns.
    const frames = Array.from({ length: int(random, 1, 6) }, () => (random() < 0.7 ? mutate(random, junkFrame(random)) : junkFrame(random)))
    const must = new Set<string>()
    let resets = false
    const sent: Uint8Array[] = []
    for (const frame of frames) {
      sent.push(frame)
      const o = oracle(ctx, frame)
      for (const code of o.must) must.add(code)
      if (o.resets) {
        resets = true
        break
      }
    }
    return sealedAttack('garbage', sent, [...must], { resets })
  }
  if (roll < 0.2) {
    const entries = pick(random, [0, 1, 100, int(random, 1000, 60_000)])
    const frame = encodeSyncMessage({ type: 'step1', doc: pick(random, ['memory', 'jobs', 'secrets'] as const), stateVector: stateVector(random, entries) })
    return sealedAttack('state-vector', [frame], [])
  }
  if (roll < 0.3) {
    const { update } = legitEntries(random, ctx)
    const box = pick<() => Uint8Array>(random, [
      () => seal('memory', update, generateMeshKey(ctx.key.epoch)),
      () => seal('memory', update, generateMeshKey(pick(random, [ctx.key.epoch + 1, 0xffff_ffff]))),
      () => seal('jobs', update),
      () => seal('memory', update, ctx.key, `m${'f'.repeat(32)}`),
      () => {
        const b = seal('memory', update)
        const at = int(random, 0, b.length - 1)
        b[at] = (b[at] ?? 0) ^ 0x40
        return b
      },
      () => seal('memory', update).subarray(0, int(random, 1, 44)),
    ])()
    return sealedAttack('badly-sealed', [encodeSyncMessage({ type: pick(random, ['update', 'step2'] as const), doc: 'memory', sealed: box })], [REJECTED])
  }
  if (roll < 0.42) {
    const { doc, update } = schemaBreaking(random)
    const box = seal(doc, update)
    const { frames, must } = framesOf(ctx, 'update', doc, box, id())
    return sealedAttack('schema', frames, must)
  }
  if (roll < 0.5) {
    const keys = [...ctx.memory.getMap('entries').keys()]
    const target = keys.length > 0 ? pick(random, keys) : null
    const count = int(random, 3000, 60_000)
    const update =
      target === null || random() < 0.34
        ? keyFlood('entries', target ?? 'bad-flood', count)
        : concurrentInserts(itemOf(ctx.memory, 'entries', target), count, random() < 0.5 ? 'text' : 'value')
    const { frames, must } = framesOf(ctx, 'update', 'memory', seal('memory', update), id())
    return sealedAttack('costly', frames, must)
  }
  if (roll < 0.55) {
    // An item after a struct nobody holds.
    const doc = freshDoc(random)
    const item = new Y.Item(Y.createID(doc.clientID, 0), null, Y.createID(7, int(random, 1, 1000)), null, null, null, null, new Y.ContentAny(['bad-orphan']))
    doc.destroy()
    const encoder = new Y.UpdateEncoderV1()
    encoder.writeLen(1)
    encoder.writeLen(1)
    encoder.writeClient(item.id.client)
    encoder.writeLen(0)
    item.write(encoder, 0)
    encoder.writeLen(0)
    return sealedAttack('missing-dependency', [encodeSyncMessage({ type: 'update', doc: 'memory', sealed: seal('memory', encoder.toUint8Array()) })], [REJECTED])
  }
  if (roll < 0.65) {
    // Chunk sequences: extreme ids, counts and totals, begun and never finished, out of order.
    const frames: Uint8Array[] = []
    const must = new Set<string>()
    for (let i = int(random, 1, 10); i > 0; i--) {
      const count = pick(random, [2, 3, int(random, 2, 2 ** 20), 0xffff_ffff])
      const total = Math.max(count, pick(random, [count, MAX_SYNC_MESSAGE_BYTES, int(random, count, count + 4096)]))
      const m: SyncMessage = { type: 'chunk', doc: pick(random, ['memory', 'jobs'] as const), of: pick(random, ['update', 'step2'] as const), id: pick(random, [0, 1, 2, 0xffff_ffff, id()]), index: pick(random, [0, 0, 1, count - 1, int(random, 0, count - 1)]), count, total, data: randomBytes(random, int(random, 1, Math.min(total, 2048))) }
      let frame: Uint8Array
      try {
        frame = encodeSyncMessage(m)
      } catch {
        continue
      }
      frames.push(frame)
      for (const code of oracle(ctx, frame).must) must.add(code)
    }
    return sealedAttack('chunks', frames, [...must])
  }
  if (roll < 0.7) {
    const frame = pick<() => Uint8Array>(random, [
      () => encodeSyncMessage({ type: 'credit', bytes: extremeU32(random) || 1 }),
      () => concat([varint(MAX_SYNC_FRAME + 1), randomBytes(random, 64)]),
      () => concat([varint(1n << 45n), randomBytes(random, 8)]),
    ])()
    if (frame[0] === 2) return sealedAttack('credit', [frame], ['SYNC_FLOW_VIOLATION'], { resets: true })
    // A lying prefix: the pieces are written raw.
    return { protocol: 'sync', kind: 'oversize', pieces: [frame], end: 'close', must: ['SYNC_FRAME_TOO_LARGE'], may: [], resets: true }
  }
  if (roll < 0.75) {
    const frame = prefixed(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: randomBytes(random, 256) }))
    return { protocol: 'sync', kind: 'abandoned', pieces: [frame.subarray(0, int(random, 0, frame.length - 1))], end: 'abandon', must: [], may: [], resets: false }
  }
  if (roll < 0.8 && ctx.sent.length > 0) {
    const box = pick(random, ctx.sent)
    // Refused as a replay if the victim opened it before (it may not have: a backoff, a reset stream).
    return sealedAttack('replay', [encodeSyncMessage({ type: 'update', doc: 'memory', sealed: box })], [], { may: [REJECTED] })
  }
  // Legitimate entries, whole or (padded past one frame) in chunks, as an update or a step 2.
  const { update, legit } = legitEntries(random, ctx)
  const box = seal('memory', update)
  ctx.sent.push(box)
  if (ctx.sent.length > 32) ctx.sent.shift()
  const type: 'update' | 'step2' = random() < 0.8 ? 'update' : 'step2'
  const big = box.length + 64 > MAX_SYNC_FRAME || random() < 0.2
  if (big && box.length < chunkDataBytes('memory') * 2) {
    // Chunked by hand into 2..4 pieces even when it would fit one frame: chunks must work at any size.
    const count = Math.min(box.length, int(random, 2, 4))
    const size = Math.ceil(box.length / count)
    const frames: Uint8Array[] = []
    const chunkId = id()
    for (let i = 0; i < count; i++) {
      const m = { type: 'chunk' as const, doc: 'memory', of: type, id: chunkId, index: i, count, total: box.length, data: box.subarray(i * size, Math.min(box.length, (i + 1) * size)) }
      if (m.data.length === 0) break
      frames.push(encodeSyncMessage(m))
    }
    const must = new Set<string>()
    for (const frame of frames) for (const code of oracle(ctx, frame).must) must.add(code)
    // A whole message the mirror put together is legitimate here, not junk.
    must.delete(REJECTED)
    return sealedAttack('legit-chunks', frames, [...must], { legit, may: [REJECTED] })
  }
  // Opened, it is legitimate, not junk; refused as a chunk (its id or room held by junk), it never lands.
  const { frames, must, whole } = framesOf(ctx, type, 'memory', box, id())
  return sealedAttack('legit', frames, must.filter((code) => code !== REJECTED), { legit: whole ? legit : [] })
}
