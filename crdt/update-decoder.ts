/**
 * A bounded, resumable reader of Yjs (V1) updates from peers, and the writer of the slices
 * such an update is applied in.
 *
 * It reads what Yjs's own reader (readClientsStructRefs and readDeleteSet in yjs.mjs) reads,
 * into the same Item, GC and Skip objects, with these differences: every count is checked
 * against the bytes left and the caller's limits before anything is allocated for it; a
 * client listed twice, a clock past MAX_CLOCK and trailing bytes are refused; and content no
 * document schema allows (strings, formats, embeds, binaries, subdocuments, any Y type but a
 * map) is refused as soon as it is read. Every document is a set of maps (update-schema.ts),
 * so a map value is always exactly one value: a ContentAny or ContentJSON of any other length
 * is refused too. It is a generator that yields every STEP structs or delete ranges, so a
 * driver can spread a large update over several turns of the event loop.
 */
import * as Y from 'yjs'
import { SyncUpdateRejectedError } from './errors.js'

export type Struct = Y.Item | Y.GC | Y.Skip

export interface DeleteRange {
  client: number
  clock: number
  len: number
}

export interface DecodedUpdate {
  /** Per client, its structs in clock order, as the update lists them (a Skip marks a gap). */
  clients: Map<number, Struct[]>
  /** Items and GCs (Skips not counted). */
  structCount: number
  deletes: DeleteRange[]
}

export interface DecodeLimits {
  maxStructs: number
  maxDeleteRanges: number
}

/** Highest clock (exclusive end of a struct or delete range) a peer's update may name. */
export const MAX_CLOCK = 2 ** 48

/** Structs or delete ranges read between two yields. */
const STEP = 1024

// Content refs, as yjs.mjs numbers them (contentRefs).
const CONTENT_NAMES: Record<number, string> = {
  3: 'binary',
  4: 'text',
  5: 'embed',
  6: 'format',
  9: 'subdocument',
}
const TYPE_NAMES: Record<number, string> = { 0: 'Y.Array', 2: 'Y.Text', 3: 'Y.XmlElement', 4: 'Y.XmlFragment', 5: 'Y.XmlHook', 6: 'Y.XmlText' }
const YMAP_REF = 1

interface ByteDecoder {
  arr: Uint8Array
  pos: number
}

const malformed = (message: string, cause?: unknown): SyncUpdateRejectedError =>
  new SyncUpdateRejectedError('malformed', message, cause === undefined ? undefined : { cause })

/**
 * Reads `update`; yields every STEP structs; returns the decoded update. Throws
 * SyncUpdateRejectedError: 'malformed' (not a Yjs V1 update, or one Yjs would misread),
 * 'over-limit' (more structs or delete ranges than `limits`), 'schema' (content no document
 * holds).
 */
export function* readUpdate(update: Uint8Array, limits: DecodeLimits): Generator<void, DecodedUpdate> {
  // Own buffer: lib0 reads a length past a view's end from the buffer behind it.
  const bytes = update.byteOffset === 0 && update.byteLength === update.buffer.byteLength ? update : update.slice()
  const raw: ByteDecoder = { arr: bytes, pos: 0 }
  const decoder = new Y.UpdateDecoderV1(raw as never)
  const count = (what: string, n: number, each: number, max: number, over: string): void => {
    const left = bytes.length - raw.pos
    if (n * each > left) throw malformed(`${what} ${n} does not fit in the ${left} bytes left`)
    if (n > max) throw new SyncUpdateRejectedError('over-limit', `${over} (at most ${max})`)
  }
  const clients = new Map<number, Struct[]>()
  const deletes: DeleteRange[] = []
  let structCount = 0
  let sinceYield = 0
  try {
    const sections = decoder.readLen()
    count('client count', sections, 2, Number.MAX_SAFE_INTEGER, '')
    for (let s = 0; s < sections; s++) {
      const n = decoder.readLen()
      count('struct count', n, 1, limits.maxStructs - structCount, `the update holds more than ${limits.maxStructs} structs`)
      const client = decoder.readClient()
      let clock = decoder.readLen()
      if (clients.has(client)) throw malformed('a client is listed twice')
      const structs: Struct[] = []
      clients.set(client, structs)
      for (let i = 0; i < n; i++) {
        const struct = readStruct(decoder, client, clock)
        clock += struct.length
        if (!(struct.length >= 1) || clock > MAX_CLOCK) throw malformed(`a struct runs past clock ${MAX_CLOCK} or is empty`)
        structs.push(struct)
        if (!(struct instanceof Y.Skip)) structCount++
        if (++sinceYield >= STEP) {
          sinceYield = 0
          if (raw.pos > bytes.length) throw malformed('not a Yjs update: it ends inside a struct')
          yield
        }
      }
    }
    const dsClients = decoder.readLen()
    count('delete set client count', dsClients, 2, Number.MAX_SAFE_INTEGER, '')
    for (let c = 0; c < dsClients; c++) {
      const client = decoder.readLen()
      const n = decoder.readLen()
      count('delete range count', n, 2, limits.maxDeleteRanges - deletes.length, `the update deletes more than ${limits.maxDeleteRanges} ranges`)
      for (let i = 0; i < n; i++) {
        const clock = decoder.readDsClock()
        const len = decoder.readDsLen()
        if (clock + len > MAX_CLOCK) throw malformed(`a delete range runs past clock ${MAX_CLOCK}`)
        if (len > 0) deletes.push({ client, clock, len })
        if (++sinceYield >= STEP) {
          sinceYield = 0
          yield
        }
      }
    }
  } catch (err) {
    if (err instanceof SyncUpdateRejectedError) throw err
    throw malformed('not a Yjs update', err)
  }
  if (raw.pos !== bytes.length) throw malformed(raw.pos > bytes.length ? 'not a Yjs update: it ends inside a struct' : `${bytes.length - raw.pos} bytes follow the delete set`)
  return { clients, structCount, deletes }
}

// Mirrors readClientsStructRefs: the info byte's low five bits pick GC (0), Skip (10) or an
// item's content; bit 8 an origin, bit 7 a right origin; with neither, the parent follows
// (a root name, or the id of the item holding the parent type) and, with bit 6, the key.
function readStruct(decoder: Y.UpdateDecoderV1, client: number, clock: number): Struct {
  const info = decoder.readInfo()
  const ref = info & 0b11111
  if (ref === 0) return new Y.GC(Y.createID(client, clock), decoder.readLen())
  if (ref === 10) return new Y.Skip(Y.createID(client, clock), decoder.readLen())
  const cantCopyParentInfo = (info & (0b10000000 | 0b01000000)) === 0
  const origin = (info & 0b10000000) !== 0 ? decoder.readLeftID() : null
  const rightOrigin = (info & 0b01000000) !== 0 ? decoder.readRightID() : null
  const parent: string | Y.ID | null = cantCopyParentInfo ? (decoder.readParentInfo() ? decoder.readString() : decoder.readLeftID()) : null
  const parentSub = cantCopyParentInfo && (info & 0b00100000) !== 0 ? decoder.readString() : null
  const content = readContent(decoder, ref)
  return new Y.Item(Y.createID(client, clock), null, origin, null, rightOrigin, parent as never, parentSub, content)
}

function readContent(decoder: Y.UpdateDecoderV1, ref: number): Y.Item['content'] {
  switch (ref) {
    case 1:
      return new Y.ContentDeleted(decoder.readLen())
    case 2: {
      const len = decoder.readLen()
      if (len !== 1) throw oneValue(len)
      const json = decoder.readString()
      return new Y.ContentJSON([json === 'undefined' ? undefined : JSON.parse(json)])
    }
    case 7: {
      const typeRef = decoder.readTypeRef()
      if (typeRef !== YMAP_REF) {
        throw new SyncUpdateRejectedError('schema', `a nested ${TYPE_NAMES[typeRef] ?? `type ${typeRef}`} (documents hold maps of plain values and records)`)
      }
      return new Y.ContentType(new Y.Map())
    }
    case 8: {
      const len = decoder.readLen()
      if (len !== 1) throw oneValue(len)
      return new Y.ContentAny([decoder.readAny()])
    }
    default: {
      const name = CONTENT_NAMES[ref]
      if (name !== undefined) throw new SyncUpdateRejectedError('schema', `${name} content (documents hold maps of plain values and records)`)
      throw malformed(`unknown content ref ${ref}`)
    }
  }
}

function oneValue(len: number): SyncUpdateRejectedError {
  return new SyncUpdateRejectedError('schema', `an item of ${len} values (a map entry holds exactly one)`)
}

/**
 * A V1 update of `structs` and `deletes`. Structs of one client must be contiguous in clock
 * and in clock order (as an apply plan's slices are); clients may come in any order.
 */
export function encodeSlice(structs: ReadonlyArray<Y.Item | Y.GC>, deletes: readonly DeleteRange[]): Uint8Array {
  const byClient = new Map<number, Array<Y.Item | Y.GC>>()
  for (const s of structs) {
    const list = byClient.get(s.id.client)
    if (list === undefined) byClient.set(s.id.client, [s])
    else list.push(s)
  }
  const encoder = new Y.UpdateEncoderV1()
  encoder.writeLen(byClient.size)
  for (const [client, list] of byClient) {
    encoder.writeLen(list.length)
    encoder.writeClient(client)
    encoder.writeLen((list[0] as Y.Item | Y.GC).id.clock)
    for (const s of list) s.write(encoder, 0)
  }
  const dsByClient = new Map<number, DeleteRange[]>()
  for (const d of deletes) {
    const list = dsByClient.get(d.client)
    if (list === undefined) dsByClient.set(d.client, [d])
    else list.push(d)
  }
  encoder.writeLen(dsByClient.size)
  for (const [client, list] of dsByClient) {
    encoder.writeLen(client)
    encoder.writeLen(list.length)
    for (const d of list) {
      encoder.writeDsClock(d.clock)
      encoder.writeDsLen(d.len)
    }
  }
  return encoder.toUint8Array()
}
