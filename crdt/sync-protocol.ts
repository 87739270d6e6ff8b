/**
 * The document sync protocol, `/instar/sync/2.0.0`: how two members keep their Yjs
 * documents in step. Pure encode/decode; sync-stream.ts binds it to libp2p, which
 * length-prefixes each frame (an unsigned varint) and refuses one longer than MAX_SYNC_FRAME.
 *
 * Why the limits are what they are. libp2p 3 keeps the bytes of a stream that its reader has
 * not consumed yet in one buffer and resets the stream once that buffer passes 4 MiB: the
 * `maxBufferSize` of @libp2p/utils' byteStream, which lpStream uses (default 4,194,304, and
 * independent of lpStream's `maxDataLength`), and yamux's per-stream `maxReadBufferLength`
 * (the same 4 MiB) while a stream is paused. yamux grants its window when bytes arrive, not
 * when they are read, so nothing in libp2p stops a sender from filling that buffer. Hence
 * version 1's silent reset of any frame over 4 MiB, and of any burst a busy reader had not
 * read yet. Version 2 keeps every frame at MAX_SYNC_FRAME (1 MiB) and lets a sender have at
 * most SYNC_WINDOW_BYTES (2 MiB) of frames unconsumed by the reader (CREDIT below), so the
 * libp2p buffer never holds more than half of what it allows. A larger step 2 or update is
 * split into CHUNK frames and put together again on the other side, within
 * MAX_SYNC_MESSAGE_BYTES per message and MAX_SYNC_REASSEMBLY_BYTES and MAX_SYNC_REASSEMBLIES
 * per stream. Version 1 peers speak another protocol id and do not sync with version 2.
 *
 * Streams. Between two connected members there are two long-lived streams, one per
 * direction: each side opens its own outbound stream and writes its messages only to it, and
 * reads the messages of the stream the other side opened. The reader of a stream writes back
 * on that same stream only CREDIT frames. One stream carries every document, told apart by
 * the name in each frame. Frames on a stream arrive in the order they were written, and the
 * reader handles them in that order, one at a time; nothing is assumed about the order
 * between the two streams.
 *
 * The exchange, per document, in the manner of y-protocols sync step 1 and 2 (A and B are
 * symmetric; each runs both halves at once):
 *
 *   1. A → B  SYNC_STEP1 (type 1)  { doc, stateVector }
 *        sent for each document as soon as A's outbound stream opens, and again whenever a
 *        new stream from B arrives (B's old one ended, so A may have missed its updates).
 *        stateVector is Y.encodeStateVector(doc), in the clear: it reveals only client ids
 *        and counters.
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
 *        optional: A has applied `count` UPDATE messages for doc from B's current stream
 *        (cumulative, modulo 2^32). A peer may never send one; nothing may wait for it.
 *   6. A → B  CHUNK (type 6)       { doc, of, id, index, count, total, data }
 *        one piece of a STEP2 (of = 2) or UPDATE (of = 3) whose frame would pass
 *        MAX_SYNC_FRAME: its sealed bytes cut into `count` (>= 2) pieces sent as index 0 to
 *        count - 1, in order, `total` bytes in all. `id` names the message on this stream;
 *        chunks of different messages may interleave. B puts the pieces together and then
 *        handles the whole as the STEP2 or UPDATE it is, at the place of its last chunk. B
 *        refuses (and drops the message) a chunk that is out of order, disagrees with the
 *        message's first chunk, overruns or falls short of `total`, names an id not begun,
 *        begins an id already begun, or begins a message past the per-stream bounds; a
 *        sender never begins a message that the bounds would refuse.
 *   7. A → B  REFUSED (type 7)     { doc, of, code, reason }
 *        informational: A refused B's STEP2 (of = 2) or UPDATE (of = 3) for doc, with the
 *        error code and a short reason, so B can show why its sync with A is failing.
 *   8. A → B  CREDIT (type 8)      { bytes }   (written by the reader, on B's stream to A)
 *        A has handled `bytes` more bytes of frames (the frame bytes, not their length
 *        prefixes) that B wrote on this stream. B keeps the bytes it has written and not
 *        yet had credited at or under SYNC_WINDOW_BYTES, waiting for credit before a frame
 *        that would pass it; A resets a stream whose writer passes the window, and B one
 *        whose reader credits more than it was sent. Only CREDIT travels against a stream's
 *        direction, and CREDIT travels only that way.
 *
 * A frame names a document only syntactically; whether the document exists, and what to do
 * with sealed bytes, is the stream layer's call. Sealed payloads are never opened here.
 *
 *   frame   = version (1 byte, = 2) || type (1 byte) || body
 *   body    = CREDIT: bytes, u32 big-endian, 1..2^32-1 (exactly 4 bytes)
 *             other types: L (1 byte, 1..32) || doc (L bytes) || payload
 *   doc     = ASCII, ^[a-z][a-z0-9-]{0,31}$
 *   payload = STEP1: a Yjs state vector (checkStateVector: at most 1 MiB and 100,000 entries)
 *             STEP2, UPDATE: the sealed bytes, at least 1
 *             DONE: nothing
 *             ACK: count, u32 big-endian (exactly 4 bytes)
 *             CHUNK: of (1 byte, 2 or 3) || id (u32) || index (u32) || count (u32)
 *                    || total (u32) || data (at least 1 byte); 2 <= count <= total,
 *                    index < count, total <= MAX_SYNC_MESSAGE_BYTES (all u32 big-endian)
 *             REFUSED: of (1 byte, 2 or 3) || C (1 byte, 1..64) || code (C bytes of
 *                    [A-Z0-9_], starting with a letter) || reason (0..200 bytes of
 *                    printable ASCII, 0x20..0x7e)
 *   Every frame is at most MAX_SYNC_FRAME bytes.
 */
import * as Y from 'yjs'
import { SyncFrameMalformedError, SyncMessageTooLargeError } from './errors.js'

export const SYNC_PROTOCOL = '/instar/sync/2.0.0'
/** The version byte that starts every frame. */
export const SYNC_VERSION = 2
/** Largest frame either side sends or accepts, in bytes (the whole frame, header included). */
export const MAX_SYNC_FRAME = 1024 * 1024
/** Most frame bytes a writer may have on a stream that the reader has not credited back. */
export const SYNC_WINDOW_BYTES = 2 * 1024 * 1024
/** Largest STEP2 or UPDATE, in sealed bytes, once its chunks are put together. */
export const MAX_SYNC_MESSAGE_BYTES = 128 * 1024 * 1024
/** Most sealed bytes that the messages being put together on one stream may announce in all. */
export const MAX_SYNC_REASSEMBLY_BYTES = 128 * 1024 * 1024
/** Most messages being put together on one stream at a time. */
export const MAX_SYNC_REASSEMBLIES = 8
/** Largest state vector in a SYNC_STEP1, in bytes. */
export const MAX_STATE_VECTOR_BYTES = 1024 * 1024
/** Most clients a state vector may list. */
export const MAX_STATE_VECTOR_ENTRIES = 100_000
/** Longest reason in a REFUSED frame, in bytes. */
export const MAX_REFUSED_REASON = 200

export const SYNC_TYPE_STEP1 = 1
export const SYNC_TYPE_STEP2 = 2
export const SYNC_TYPE_UPDATE = 3
export const SYNC_TYPE_DONE = 4
export const SYNC_TYPE_ACK = 5
export const SYNC_TYPE_CHUNK = 6
export const SYNC_TYPE_REFUSED = 7
export const SYNC_TYPE_CREDIT = 8

const HEADER_BYTES = 3
const CHUNK_FIELDS = 1 + 4 * 4
const MAX_DOC_NAME = 32
const MAX_CODE = 64
const MAX_U32 = 0xffff_ffff
/** 8 varint bytes carry 56 bits, enough for any safe integer. */
const MAX_VARINT_BYTES = 8

/** What a CHUNK or REFUSED frame is about: a step 2 or an update. */
export type SyncPayloadKind = 'step2' | 'update'

export type SyncMessage =
  | { type: 'step1'; doc: string; stateVector: Uint8Array }
  | { type: 'step2'; doc: string; sealed: Uint8Array }
  | { type: 'update'; doc: string; sealed: Uint8Array }
  | { type: 'done'; doc: string }
  | { type: 'ack'; doc: string; count: number }
  | { type: 'chunk'; doc: string; of: SyncPayloadKind; id: number; index: number; count: number; total: number; data: Uint8Array }
  | { type: 'refused'; doc: string; of: SyncPayloadKind; code: string; reason: string }
  | { type: 'credit'; bytes: number }

export type SyncChunk = Extract<SyncMessage, { type: 'chunk' }>

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
  const u32 = (value: unknown, name: string, min = 0): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_U32) {
      throw refuse(`${name} must be an integer in ${min}..${MAX_U32}`)
    }
    return value
  }
  if (m.type === 'credit') {
    const frame = new Uint8Array(2 + 4)
    frame[0] = SYNC_VERSION
    frame[1] = SYNC_TYPE_CREDIT
    new DataView(frame.buffer).setUint32(2, u32(m.bytes, 'bytes', 1), false)
    return frame
  }
  let type: number
  let payload: Uint8Array
  switch (m.type) {
    case 'step1':
      type = SYNC_TYPE_STEP1
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
      type = m.type === 'step2' ? SYNC_TYPE_STEP2 : SYNC_TYPE_UPDATE
      if (!(m.sealed instanceof Uint8Array)) throw refuse('sealed is not a Uint8Array')
      if (m.sealed.length === 0) throw refuse('sealed is empty')
      payload = m.sealed
      break
    case 'done':
      type = SYNC_TYPE_DONE
      payload = new Uint8Array(0)
      break
    case 'ack':
      type = SYNC_TYPE_ACK
      payload = new Uint8Array(4)
      new DataView(payload.buffer).setUint32(0, u32(m.count, 'count'), false)
      break
    case 'chunk': {
      type = SYNC_TYPE_CHUNK
      const of = kindByte(m.of)
      if (of === null) throw refuse('of must be "step2" or "update"')
      if (!(m.data instanceof Uint8Array)) throw refuse('data is not a Uint8Array')
      const fields = [u32(m.id, 'id'), u32(m.index, 'index'), u32(m.count, 'count'), u32(m.total, 'total')] as const
      const error = chunkFieldsError(fields[1], fields[2], fields[3], m.data.length)
      if (error !== null) throw refuse(error)
      payload = new Uint8Array(CHUNK_FIELDS + m.data.length)
      payload[0] = of
      const view = new DataView(payload.buffer)
      fields.forEach((value, i) => view.setUint32(1 + 4 * i, value, false))
      payload.set(m.data, CHUNK_FIELDS)
      break
    }
    case 'refused': {
      type = SYNC_TYPE_REFUSED
      const of = kindByte(m.of)
      if (of === null) throw refuse('of must be "step2" or "update"')
      if (typeof m.code !== 'string' || typeof m.reason !== 'string') throw refuse('code and reason must be strings')
      const code = asciiBytes(m.code)
      const reason = asciiBytes(m.reason)
      const error = codeError(code) ?? reasonError(reason)
      if (error !== null) throw refuse(error)
      payload = new Uint8Array(2 + code.length + reason.length)
      payload[0] = of
      payload[1] = code.length
      payload.set(code, 2)
      payload.set(reason, 2 + code.length)
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
  if (frame.length < 2) throw new SyncFrameMalformedError('frame of 1 byte has no message type')
  const type = frame[1] ?? 0
  if (type < SYNC_TYPE_STEP1 || type > SYNC_TYPE_CREDIT) throw new SyncFrameMalformedError(`unknown message type ${type}`)
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length)
  if (type === SYNC_TYPE_CREDIT) {
    if (frame.length !== 6) throw new SyncFrameMalformedError(`credit must carry exactly 4 bytes, not ${frame.length - 2}`)
    const bytes = view.getUint32(2, false)
    if (bytes === 0) throw new SyncFrameMalformedError('credit of 0 bytes')
    return { type: 'credit', bytes }
  }
  if (frame.length < HEADER_BYTES) {
    throw new SyncFrameMalformedError(`frame of ${frame.length} bytes is shorter than the ${HEADER_BYTES}-byte header`)
  }
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
    case SYNC_TYPE_STEP1:
      checkStateVector(payload)
      return { type: 'step1', doc, stateVector: payload.slice() }
    case SYNC_TYPE_STEP2:
    case SYNC_TYPE_UPDATE: {
      const what = type === SYNC_TYPE_STEP2 ? 'step2' : 'update'
      if (payload.length === 0) throw new SyncFrameMalformedError(`${what} carries no sealed bytes`)
      return { type: what, doc, sealed: payload.slice() }
    }
    case SYNC_TYPE_DONE:
      if (payload.length !== 0) {
        throw new SyncFrameMalformedError(`done must carry no payload, not ${payload.length} bytes`)
      }
      return { type: 'done', doc }
    case SYNC_TYPE_ACK: {
      if (payload.length !== 4) {
        throw new SyncFrameMalformedError(`ack count must be exactly 4 bytes, not ${payload.length}`)
      }
      return { type: 'ack', doc, count: view.getUint32(payloadStart, false) }
    }
    case SYNC_TYPE_CHUNK: {
      if (payload.length < CHUNK_FIELDS + 1) {
        throw new SyncFrameMalformedError(`chunk of ${payload.length} payload bytes is shorter than its ${CHUNK_FIELDS + 1}-byte minimum`)
      }
      const of = kindOf(payload[0] ?? 0)
      if (of === null) throw new SyncFrameMalformedError(`chunk of message type ${payload[0] ?? 0}: only 2 (step2) and 3 (update) are chunked`)
      const [id, index, count, total] = [0, 1, 2, 3].map((i) => view.getUint32(payloadStart + 1 + 4 * i, false)) as [number, number, number, number]
      const data = payload.subarray(CHUNK_FIELDS)
      const error = chunkFieldsError(index, count, total, data.length)
      if (error !== null) throw new SyncFrameMalformedError(error)
      return { type: 'chunk', doc, of, id, index, count, total, data: data.slice() }
    }
    default: {
      // SYNC_TYPE_REFUSED: the range check above leaves nothing else.
      if (payload.length < 3) throw new SyncFrameMalformedError(`refused of ${payload.length} payload bytes is too short`)
      const of = kindOf(payload[0] ?? 0)
      if (of === null) throw new SyncFrameMalformedError(`refused of message type ${payload[0] ?? 0}: only 2 (step2) and 3 (update) are refused`)
      const codeLength = payload[1] ?? 0
      if (2 + codeLength > payload.length) throw new SyncFrameMalformedError(`refused code of ${codeLength} bytes runs past the end of the frame`)
      const code = payload.subarray(2, 2 + codeLength)
      const reason = payload.subarray(2 + codeLength)
      const error = codeError(code) ?? reasonError(reason)
      if (error !== null) throw new SyncFrameMalformedError(error)
      return { type: 'refused', doc, of, code: String.fromCharCode(...code), reason: String.fromCharCode(...reason) }
    }
  }
}

// ---- chunks -------------------------------------------------------------------------------

/** How many bytes of sealed data one CHUNK frame for `doc` carries at most. */
export function chunkDataBytes(doc: string): number {
  return MAX_SYNC_FRAME - HEADER_BYTES - doc.length - CHUNK_FIELDS
}

/**
 * How a STEP2 or UPDATE of `sealedBytes` for `doc` goes on the wire: 1 frame when it fits in
 * one, else the number of CHUNK frames. SyncMessageTooLargeError past MAX_SYNC_MESSAGE_BYTES.
 */
export function syncFrameCount(doc: string, sealedBytes: number): number {
  if (sealedBytes > MAX_SYNC_MESSAGE_BYTES) throw new SyncMessageTooLargeError(doc, sealedBytes, MAX_SYNC_MESSAGE_BYTES)
  if (HEADER_BYTES + doc.length + sealedBytes <= MAX_SYNC_FRAME) return 1
  return Math.ceil(sealedBytes / chunkDataBytes(doc))
}

/**
 * Frame `index` (0 ≤ index < syncFrameCount) of a STEP2 or UPDATE: the whole message when it
 * fits in one frame, else its CHUNK `index` under message id `id`. Frames are made one at a
 * time, so a 50 MiB step 2 is never held twice.
 */
export function encodeSyncMessageFrame(m: { type: SyncPayloadKind; doc: string; sealed: Uint8Array }, id: number, index: number): Uint8Array {
  const count = syncFrameCount(m.doc, m.sealed.length)
  if (count === 1) return encodeSyncMessage(m)
  const size = chunkDataBytes(m.doc)
  const data = m.sealed.subarray(index * size, Math.min(m.sealed.length, (index + 1) * size))
  return encodeSyncMessage({ type: 'chunk', doc: m.doc, of: m.type, id, index, count, total: m.sealed.length, data })
}

function chunkFieldsError(index: number, count: number, total: number, dataBytes: number): string | null {
  if (count < 2) return `chunk count ${count} is under 2 (a message that fits one frame is not chunked)`
  if (total > MAX_SYNC_MESSAGE_BYTES) return `chunked message of ${total} bytes exceeds the ${MAX_SYNC_MESSAGE_BYTES}-byte limit`
  if (count > total) return `chunk count ${count} exceeds the message's ${total} bytes`
  if (index >= count) return `chunk index ${index} is not below the count ${count}`
  if (dataBytes < 1) return 'chunk carries no data'
  if (dataBytes > total) return `chunk of ${dataBytes} bytes exceeds the message's ${total} bytes`
  return null
}

function kindByte(kind: unknown): number | null {
  return kind === 'step2' ? SYNC_TYPE_STEP2 : kind === 'update' ? SYNC_TYPE_UPDATE : null
}

function kindOf(byte: number): SyncPayloadKind | null {
  return byte === SYNC_TYPE_STEP2 ? 'step2' : byte === SYNC_TYPE_UPDATE ? 'update' : null
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

function codeError(code: Uint8Array): string | null {
  if (code.length < 1 || code.length > MAX_CODE) return `refused code length ${code.length} is outside 1..${MAX_CODE}`
  for (let i = 0; i < code.length; i++) {
    const c = code[i] ?? 0
    const upper = c >= 0x41 && c <= 0x5a
    if (i === 0 && !upper) return 'refused code must start with an uppercase letter'
    if (!upper && !(c >= 0x30 && c <= 0x39) && c !== 0x5f) return `refused code has the byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}`
  }
  return null
}

function reasonError(reason: Uint8Array): string | null {
  if (reason.length > MAX_REFUSED_REASON) return `refused reason of ${reason.length} bytes exceeds ${MAX_REFUSED_REASON}`
  for (let i = 0; i < reason.length; i++) {
    const c = reason[i] ?? 0
    if (c < 0x20 || c > 0x7e) return `refused reason has the byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}; only printable ASCII is allowed`
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

/** `text` as a REFUSED reason: printable ASCII only (anything else becomes "?"), at most MAX_REFUSED_REASON bytes. */
export function refusedReason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_REFUSED_REASON)
}
