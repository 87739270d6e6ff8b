/**
 * The document sync protocol, `/instar/sync/1.0.0`: how two members keep their Yjs
 * documents in step. Pure encode/decode; a `*-stream.ts` binds it to libp2p, which
 * length-prefixes each frame and refuses one longer than MAX_SYNC_FRAME.
 *
 * Streams. Between two connected members there are two long-lived streams, one per
 * direction: each side opens its own outbound stream and writes only to it, and only reads
 * the stream the other side opened. One stream carries every document, told apart by the
 * name in each frame. Frames on a stream arrive in the order they were written; nothing is
 * assumed about the order between the two streams.
 *
 * The exchange, per document, in the manner of y-protocols sync step 1 and 2 (A and B are
 * symmetric; each runs both halves at once):
 *
 *   1. A → B  SYNC_STEP1 (type 1)  { doc, stateVector }
 *        sent for each document as soon as A's outbound stream opens. stateVector is
 *        Y.encodeStateVector(doc), in the clear: it reveals only client ids and counters.
 *   2. B → A  SYNC_STEP2 (type 2)  { doc, sealed }
 *        B's answer: Y.encodeStateAsUpdate(doc, A's stateVector), the part of the document
 *        A lacks, sealed with the mesh key (sealed-update.ts, which binds the document name in
 *        its aad, so a frame's name cannot move sealed bytes to another document).
 *   3. A → B  UPDATE (type 3)      { doc, sealed }
 *        every local update, sealed, from the moment A's outbound stream opens. A starts
 *        forwarding before it sends step 1, so no update falls between a step 2 and the
 *        first UPDATE; the overlap is harmless because applying a Yjs update twice is a no-op.
 *   4. A → B  SYNC_DONE (type 4)   { doc }
 *        A has applied B's step 2 for doc; B can show doc as in sync with A.
 *   5. A → B  ACK (type 5)         { doc, count }
 *        optional: A has applied `count` UPDATE frames for doc from B's current stream
 *        (cumulative, modulo 2^32). A peer may never send one; nothing may wait for it.
 *
 * A frame names a document only syntactically; whether the document exists, and what to do
 * with sealed bytes, is the stream layer's call. Sealed payloads are never opened here.
 *
 *   frame = version (1 byte, = 1) || type (1 byte) || L (1 byte, 1..32) || doc (L bytes)
 *           || payload
 *   doc     = ASCII, ^[a-z][a-z0-9-]{0,31}$
 *   payload = STEP1: a Yjs state vector (checkStateVector: at most 1 MiB and 100,000 entries)
 *             STEP2, UPDATE: the sealed bytes, at least 1
 *             DONE: nothing
 *             ACK: count, u32 big-endian (exactly 4 bytes)
 */
import * as Y from 'yjs'
import { SyncFrameMalformedError } from './errors.js'

export const SYNC_PROTOCOL = '/instar/sync/1.0.0'
/** Largest frame either side sends or accepts, in bytes (the whole frame, header included). */
export const MAX_SYNC_FRAME = 16 * 1024 * 1024
/** Largest state vector in a SYNC_STEP1, in bytes. */
export const MAX_STATE_VECTOR_BYTES = 1024 * 1024
/** Most clients a state vector may list. */
export const MAX_STATE_VECTOR_ENTRIES = 100_000

const SYNC_VERSION = 1
const TYPE_STEP1 = 1
const TYPE_STEP2 = 2
const TYPE_UPDATE = 3
const TYPE_DONE = 4
const TYPE_ACK = 5
const HEADER_BYTES = 3
const MAX_DOC_NAME = 32
const MAX_U32 = 0xffff_ffff
/** 8 varint bytes carry 56 bits, enough for any safe integer. */
const MAX_VARINT_BYTES = 8

export type SyncMessage =
  | { type: 'step1'; doc: string; stateVector: Uint8Array }
  | { type: 'step2'; doc: string; sealed: Uint8Array }
  | { type: 'update'; doc: string; sealed: Uint8Array }
  | { type: 'done'; doc: string }
  | { type: 'ack'; doc: string; count: number }

// ---- frames -------------------------------------------------------------------------------

/**
 * Encodes one message. Refuses (SyncFrameMalformedError, reason starting "cannot encode")
 * anything a peer's decodeSyncMessage would refuse, so a bad frame never leaves this node.
 */
export function encodeSyncMessage(m: SyncMessage): Uint8Array {
  try {
    return encodeFrame(m)
  } catch (err) {
    if (err instanceof SyncFrameMalformedError) throw err
    throw new SyncFrameMalformedError('cannot encode: unexpected input', { cause: err })
  }
}

function encodeFrame(m: SyncMessage): Uint8Array {
  if (typeof m !== 'object' || m === null) throw new SyncFrameMalformedError('cannot encode: message is not an object')
  const what = String((m as { type?: unknown }).type)
  const refuse = (reason: string) => new SyncFrameMalformedError(`cannot encode ${what}: ${reason}`)
  let type: number
  let payload: Uint8Array
  switch (m.type) {
    case 'step1':
      type = TYPE_STEP1
      if (!(m.stateVector instanceof Uint8Array)) throw refuse('stateVector is not a Uint8Array')
      try {
        checkStateVector(m.stateVector)
      } catch (err) {
        if (err instanceof SyncFrameMalformedError) throw refuse(err.reason)
        throw err
      }
      payload = m.stateVector
      break
    case 'step2':
    case 'update':
      type = m.type === 'step2' ? TYPE_STEP2 : TYPE_UPDATE
      if (!(m.sealed instanceof Uint8Array)) throw refuse('sealed is not a Uint8Array')
      if (m.sealed.length === 0) throw refuse('sealed is empty')
      payload = m.sealed
      break
    case 'done':
      type = TYPE_DONE
      payload = new Uint8Array(0)
      break
    case 'ack': {
      type = TYPE_ACK
      const count: unknown = m.count
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_U32) {
        throw refuse(`count must be an integer in 0..${MAX_U32}`)
      }
      payload = new Uint8Array(4)
      new DataView(payload.buffer).setUint32(0, count, false)
      break
    }
    default:
      throw new SyncFrameMalformedError(`cannot encode: unknown message type ${what}`)
  }
  const doc: unknown = m.doc
  if (typeof doc !== 'string') throw refuse('doc is not a string')
  if (doc.length < 1 || doc.length > MAX_DOC_NAME) {
    throw refuse(`document name length ${doc.length} is outside 1..${MAX_DOC_NAME}`)
  }
  const name = asciiBytes(doc)
  const docError = docNameError(name)
  if (docError !== null) throw refuse(docError)
  const length = HEADER_BYTES + name.length + payload.length
  if (length > MAX_SYNC_FRAME) throw refuse(`${length} bytes exceed the ${MAX_SYNC_FRAME}-byte frame limit`)
  const frame = new Uint8Array(length)
  frame[0] = SYNC_VERSION
  frame[1] = type
  frame[2] = name.length
  frame.set(name, HEADER_BYTES)
  frame.set(payload, HEADER_BYTES + name.length)
  return frame
}

/**
 * Decodes one frame. Throws SyncFrameMalformedError, whose reason names what was wrong, for
 * any input that is not a well-formed frame; never any other error. Byte fields are copies,
 * so the caller may reuse the frame's buffer.
 */
export function decodeSyncMessage(frame: Uint8Array): SyncMessage {
  try {
    return decodeFrame(frame)
  } catch (err) {
    if (err instanceof SyncFrameMalformedError) throw err
    throw new SyncFrameMalformedError('undecodable frame', { cause: err })
  }
}

function decodeFrame(frame: Uint8Array): SyncMessage {
  if (!(frame instanceof Uint8Array)) throw new SyncFrameMalformedError('frame is not bytes')
  if (frame.length === 0) throw new SyncFrameMalformedError('empty frame')
  if (frame.length > MAX_SYNC_FRAME) {
    throw new SyncFrameMalformedError(`frame of ${frame.length} bytes exceeds the ${MAX_SYNC_FRAME}-byte limit`)
  }
  // Version before anything else, so a later version may change the rest of the header.
  const version = frame[0] ?? 0
  if (version !== SYNC_VERSION) throw new SyncFrameMalformedError(`version ${version} is not supported`)
  if (frame.length < HEADER_BYTES) {
    throw new SyncFrameMalformedError(`frame of ${frame.length} bytes is shorter than the ${HEADER_BYTES}-byte header`)
  }
  const type = frame[1] ?? 0
  if (type < TYPE_STEP1 || type > TYPE_ACK) throw new SyncFrameMalformedError(`unknown message type ${type}`)
  const nameLength = frame[2] ?? 0
  if (nameLength < 1 || nameLength > MAX_DOC_NAME) {
    throw new SyncFrameMalformedError(`document name length ${nameLength} is outside 1..${MAX_DOC_NAME}`)
  }
  const payloadStart = HEADER_BYTES + nameLength
  if (payloadStart > frame.length) {
    throw new SyncFrameMalformedError(
      `document name of ${nameLength} bytes runs past the end of the ${frame.length}-byte frame`,
    )
  }
  const name = frame.subarray(HEADER_BYTES, payloadStart)
  const docError = docNameError(name)
  if (docError !== null) throw new SyncFrameMalformedError(docError)
  const doc = String.fromCharCode(...name)
  const payload = frame.subarray(payloadStart)
  switch (type) {
    case TYPE_STEP1:
      checkStateVector(payload)
      return { type: 'step1', doc, stateVector: payload.slice() }
    case TYPE_STEP2:
    case TYPE_UPDATE: {
      const what = type === TYPE_STEP2 ? 'step2' : 'update'
      if (payload.length === 0) throw new SyncFrameMalformedError(`${what} carries no sealed bytes`)
      return { type: what, doc, sealed: payload.slice() }
    }
    case TYPE_DONE:
      if (payload.length !== 0) {
        throw new SyncFrameMalformedError(`done must carry no payload, not ${payload.length} bytes`)
      }
      return { type: 'done', doc }
    default: {
      // TYPE_ACK: the range check above leaves nothing else.
      if (payload.length !== 4) {
        throw new SyncFrameMalformedError(`ack count must be exactly 4 bytes, not ${payload.length}`)
      }
      const count = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false)
      return { type: 'ack', doc, count }
    }
  }
}

// ---- state vectors ------------------------------------------------------------------------

/**
 * Checks that `sv` is a well-formed Yjs state vector (V1 encoding: a varint count, then that
 * many varint client/clock pairs) and returns it as a Map<clientId, clock>. Stricter than
 * Yjs: at most MAX_STATE_VECTOR_BYTES and MAX_STATE_VECTOR_ENTRIES, safe integers only, no
 * client listed twice, no trailing bytes. The count is checked before any entry is read, so
 * a vector claiming billions of entries costs nothing. Throws SyncFrameMalformedError.
 */
export function checkStateVector(sv: Uint8Array): Map<number, number> {
  if (!(sv instanceof Uint8Array)) throw new SyncFrameMalformedError('state vector is not bytes')
  if (sv.length === 0) throw new SyncFrameMalformedError('state vector is empty')
  if (sv.length > MAX_STATE_VECTOR_BYTES) {
    throw new SyncFrameMalformedError(
      `state vector of ${sv.length} bytes exceeds the ${MAX_STATE_VECTOR_BYTES}-byte limit`,
    )
  }
  const reader = { pos: 0 }
  const count = readVarUint(sv, reader, 'entry count')
  if (count > MAX_STATE_VECTOR_ENTRIES) {
    throw new SyncFrameMalformedError(
      `state vector claims ${count} entries, over the ${MAX_STATE_VECTOR_ENTRIES}-entry limit`,
    )
  }
  // Each entry takes at least two bytes.
  if (count * 2 > sv.length - reader.pos) {
    throw new SyncFrameMalformedError(
      `state vector claims ${count} entries but has only ${sv.length - reader.pos} bytes for them`,
    )
  }
  const seen = new Set<number>()
  for (let i = 0; i < count; i++) {
    const client = readVarUint(sv, reader, `client id of entry ${i}`)
    readVarUint(sv, reader, `clock of entry ${i}`)
    if (seen.has(client)) throw new SyncFrameMalformedError(`state vector lists client ${client} twice`)
    seen.add(client)
  }
  if (reader.pos !== sv.length) {
    throw new SyncFrameMalformedError(`state vector has ${sv.length - reader.pos} trailing bytes`)
  }
  // Yjs has the last word on its own format; the scan above bounds what it is given.
  let decoded: Map<number, number>
  try {
    decoded = Y.decodeStateVector(sv)
  } catch (err) {
    throw new SyncFrameMalformedError('state vector is not decodable by Yjs', { cause: err })
  }
  if (decoded.size !== count) {
    throw new SyncFrameMalformedError(`state vector decodes to ${decoded.size} entries, not ${count}`)
  }
  return decoded
}

/** An unsigned LEB128 varint as Yjs (lib0) writes it, refused if it would not be a safe integer. */
function readVarUint(bytes: Uint8Array, reader: { pos: number }, what: string): number {
  let value = 0
  let multiplier = 1
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[reader.pos]
    if (byte === undefined) throw new SyncFrameMalformedError(`state vector is truncated in the ${what}`)
    reader.pos++
    value += (byte & 0x7f) * multiplier
    if (value > Number.MAX_SAFE_INTEGER) {
      throw new SyncFrameMalformedError(`state vector ${what} is larger than 2^53 - 1`)
    }
    if (byte < 0x80) return value
    multiplier *= 128
  }
  throw new SyncFrameMalformedError(`state vector ${what} is a varint longer than ${MAX_VARINT_BYTES} bytes`)
}

// ---- helpers ------------------------------------------------------------------------------

/** The reason a name is refused, or null; names bytes in hex, never quoting them. */
function docNameError(name: Uint8Array): string | null {
  if (name.length < 1 || name.length > MAX_DOC_NAME) {
    return `document name length ${name.length} is outside 1..${MAX_DOC_NAME}`
  }
  for (let i = 0; i < name.length; i++) {
    const c = name[i] ?? 0
    const hex = `0x${c.toString(16).padStart(2, '0')}`
    if (c > 0x7f) return `document name has the non-ASCII byte ${hex} at offset ${i}`
    const lower = c >= 0x61 && c <= 0x7a
    if (i === 0 && !lower) return `document name must start with a lowercase letter, not byte ${hex}`
    const digit = c >= 0x30 && c <= 0x39
    if (!lower && !digit && c !== 0x2d) {
      return `document name has the byte ${hex} at offset ${i}; only lowercase letters, digits and "-" are allowed`
    }
  }
  return null
}

/**
 * A short string's UTF-16 code units as bytes; a unit over 0xff becomes 0xff, so it fails the
 * ASCII check instead of aliasing an allowed byte.
 */
function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = Math.min(text.charCodeAt(i), 0xff)
  return bytes
}
