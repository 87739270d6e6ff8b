/**
 * Puts the CHUNK frames of one sync stream back together into the STEP2s and UPDATEs they
 * were cut from (sync-protocol.ts), within bounds: bytes per message, messages at a time and
 * bytes in all, each chunk in order and agreeing with its message's first chunk. Pure state,
 * no stream; one per inbound stream.
 *
 * A refused chunk drops its whole message (the buffer is freed at once), and the rest of that
 * message's chunks are then dropped without a word, so one bad message costs one refusal, not
 * one per chunk. The ids being dropped are remembered only up to `maxMessages`, oldest first
 * out: a peer cannot grow this state either.
 */
import { SyncChunkRefusedError } from './errors.js'
import { MAX_SYNC_MESSAGE_BYTES, MAX_SYNC_REASSEMBLIES, MAX_SYNC_REASSEMBLY_BYTES, type SyncChunk, type SyncPayloadKind } from './sync-protocol.js'

export interface ReassemblyLimits {
  /** Largest message, in sealed bytes; default MAX_SYNC_MESSAGE_BYTES. */
  maxMessageBytes?: number
  /** Most bytes announced by the messages in progress together; default MAX_SYNC_REASSEMBLY_BYTES. */
  maxBytes?: number
  /** Most messages in progress; default MAX_SYNC_REASSEMBLIES. */
  maxMessages?: number
}

export interface ReassembledMessage {
  type: SyncPayloadKind
  doc: string
  sealed: Uint8Array
}

export interface Reassembler {
  /**
   * Takes the next chunk of the stream. Returns the whole message when this was its last
   * chunk, else null. Throws SyncChunkRefusedError (and drops the message) for a chunk that
   * breaks a rule.
   */
  add(chunk: SyncChunk): ReassembledMessage | null
  /** Messages in progress. */
  inProgress(): number
  /** Bytes announced by the messages in progress. */
  announcedBytes(): number
  clear(): void
}

interface Pending {
  doc: string
  of: SyncPayloadKind
  count: number
  total: number
  next: number
  received: number
  parts: Uint8Array[]
}

export function createReassembler(limits: ReassemblyLimits = {}): Reassembler {
  const maxMessageBytes = limits.maxMessageBytes ?? MAX_SYNC_MESSAGE_BYTES
  const maxBytes = limits.maxBytes ?? MAX_SYNC_REASSEMBLY_BYTES
  const maxMessages = limits.maxMessages ?? MAX_SYNC_REASSEMBLIES
  const pending = new Map<number, Pending>()
  /** Ids whose message was refused, with the index of their last chunk. */
  const dropping = new Map<number, number>()
  let announced = 0

  const drop = (id: number, p: Pending | undefined, lastIndex: number): void => {
    if (p !== undefined) {
      pending.delete(id)
      announced -= p.total
    }
    if (lastIndex < 0) return
    dropping.set(id, lastIndex)
    if (dropping.size > maxMessages) dropping.delete(dropping.keys().next().value as number)
  }

  return {
    add(chunk) {
      const { id, doc, index } = chunk
      const refuse = (reason: SyncChunkRefusedError['reason'], detail: string, p?: Pending): never => {
        const lastIndex = Math.max(p?.count ?? 0, chunk.count) - 1
        drop(id, p, index < lastIndex ? lastIndex : -1)
        throw new SyncChunkRefusedError(reason, doc, id, detail)
      }
      const last = dropping.get(id)
      if (last !== undefined) {
        if (index >= last) dropping.delete(id)
        // A new message reusing a dropped id starts at 0; anything else belongs to the dropped one.
        if (index !== 0) return null
        dropping.delete(id)
      }
      const p = pending.get(id)
      if (index === 0) {
        if (p !== undefined) refuse('duplicate-message', `message ${id} was begun already`, p)
        if (chunk.total > maxMessageBytes) refuse('too-large', `${chunk.total} bytes exceed the ${maxMessageBytes}-byte message limit`)
        if (pending.size >= maxMessages) refuse('too-many-messages', `${pending.size} messages are being put together already`)
        if (announced + chunk.total > maxBytes) refuse('too-large', `${announced + chunk.total} bytes in progress would exceed the ${maxBytes}-byte limit`)
        const begun: Pending = { doc, of: chunk.of, count: chunk.count, total: chunk.total, next: 0, received: 0, parts: [] }
        pending.set(id, begun)
        announced += chunk.total
        return take(begun)
      }
      if (p === undefined) return refuse('unknown-message', `chunk ${index} of a message that was not begun`)
      if (p.doc !== doc || p.of !== chunk.of || p.count !== chunk.count || p.total !== chunk.total) {
        return refuse('mismatch', `chunk ${index} disagrees with the first chunk on doc, type, count or total`, p)
      }
      if (index !== p.next) return refuse('out-of-order', `chunk ${index} where ${p.next} was due`, p)
      return take(p)

      function take(m: Pending): ReassembledMessage | null {
        if (m.received + chunk.data.length > m.total) refuse('overrun', `chunks carry more than the ${m.total} bytes announced`, m)
        const isLast = index === m.count - 1
        if (isLast && m.received + chunk.data.length !== m.total) {
          refuse('short', `the last chunk leaves the message at ${m.received + chunk.data.length} of ${m.total} bytes`, m)
        }
        m.parts.push(chunk.data)
        m.received += chunk.data.length
        m.next = index + 1
        if (!isLast) return null
        pending.delete(id)
        announced -= m.total
        const sealed = new Uint8Array(m.total)
        let at = 0
        for (const part of m.parts) {
          sealed.set(part, at)
          at += part.length
        }
        return { type: m.of, doc: m.doc, sealed }
      }
    },
    inProgress: () => pending.size,
    announcedBytes: () => announced,
    clear() {
      pending.clear()
      dropping.clear()
      announced = 0
    },
  }
}
