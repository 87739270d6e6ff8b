/**
 * Binds the sync protocol (sync-protocol.ts) to one libp2p stream in each direction, with its
 * flow control. A sender owns our outbound stream: it writes our messages, big ones cut into
 * CHUNK frames, never more than SYNC_WINDOW_BYTES ahead of the CREDIT its reader sends back on
 * the same stream. A receiver owns a peer's stream to us: it reads frames as they come, hands
 * them one at a time, in order, to the engine, and credits each back once it is handled, so a
 * slow apply holds the sender back instead of overflowing libp2p's 4 MiB read buffer.
 *
 * Both end (the `ended` promise) on the first error of their stream, or when aborted; they
 * never throw into the caller.
 */
import { SyncFlowViolationError, SyncFrameMalformedError, SyncSendQueueFullError } from './errors.js'
import type { FrameStream } from '../mesh/index.js'
import {
  MAX_SYNC_REASSEMBLIES,
  MAX_SYNC_REASSEMBLY_BYTES,
  SYNC_WINDOW_BYTES,
  decodeSyncMessage,
  encodeSyncMessage,
  encodeSyncMessageFrame,
  syncFrameCount,
  type SyncMessage,
  type SyncPayloadKind,
} from './sync-protocol.js'

/** Why a stream ended: the error that ended it, or null when this side closed it. */
export type StreamEnd = Error | null

export type ControlMessage = Extract<SyncMessage, { type: 'step1' | 'done' | 'ack' | 'refused' }>

export interface SyncSenderOptions {
  /** Bytes of STEP2s and UPDATEs queued and not yet sent past which the stream is given up (reset and resynced); default 256 MiB. */
  maxQueuedBytes?: number
}

export interface SyncSender {
  /**
   * Queues a small message, sent ahead of any STEP2 or UPDATE. Only the latest of each kind
   * per document is kept until sent (a step 1, a done, an ack count, a refusal: each newer one
   * says all the older one did), so this queue stays small whatever a peer does.
   */
  control(m: ControlMessage): void
  /**
   * Queues a STEP2 or UPDATE for `doc`. Messages of one document go out in order; the
   * documents take turns, a frame each. A STEP2 replaces one for the same document that has
   * not begun to go out. Throws SyncMessageTooLargeError past MAX_SYNC_MESSAGE_BYTES.
   */
  data(type: SyncPayloadKind, doc: string, sealed: Uint8Array): void
  readonly ended: Promise<StreamEnd>
  /** Ends the stream by our choice: `ended` resolves with null. */
  abort(reason: Error): void
}

interface Outgoing {
  type: SyncPayloadKind
  doc: string
  sealed: Uint8Array
  count: number
  id: number
  next: number
}

export function createSyncSender(frames: FrameStream, options: SyncSenderOptions = {}): SyncSender {
  const maxQueued = options.maxQueuedBytes ?? 256 * 1024 * 1024
  const controls = new Map<string, ControlMessage>()
  const queues = new Map<string, Outgoing[]>()
  const rotation: string[] = []
  let turn = 0
  let queued = 0
  let outstanding = 0
  let chunking = 0
  let chunkingBytes = 0
  let nextId = 1
  let wake: (() => void) | null = null
  const stop = new AbortController()
  let finish: (end: StreamEnd) => void = () => undefined
  const ended = new Promise<StreamEnd>((resolve) => {
    finish = resolve
  })
  let done = false

  const end = (error: Error | null, reason?: Error): void => {
    if (done) return
    done = true
    stop.abort(reason ?? error ?? new Error('sync stream closed'))
    frames.abort(error ?? reason ?? new Error('sync stream closed'))
    wake?.()
    finish(error)
  }
  const notify = (): void => {
    const w = wake
    wake = null
    w?.()
  }
  const sleep = (): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve
    })

  /** The next frame to write, or null when nothing may go now. Commits to it: the caller writes it next. */
  const nextFrame = (): Uint8Array | null => {
    for (const [key, m] of controls) {
      controls.delete(key)
      return encodeSyncMessage(m)
    }
    for (let tried = 0; tried < rotation.length; tried++) {
      turn = (turn + 1) % rotation.length
      const doc = rotation[turn] as string
      const queue = queues.get(doc) ?? []
      const head = queue[0]
      if (head === undefined) continue
      if (head.count > 1 && head.next === 0) {
        // Never begin a message the reader's reassembly bounds would refuse; wait for one to finish.
        if (chunking >= MAX_SYNC_REASSEMBLIES || chunkingBytes + head.sealed.length > MAX_SYNC_REASSEMBLY_BYTES) continue
        head.id = nextId
        nextId = nextId === 0xffff_ffff ? 1 : nextId + 1
        chunking++
        chunkingBytes += head.sealed.length
      }
      const frame = encodeSyncMessageFrame(head, head.id, head.next)
      head.next++
      if (head.next === head.count) {
        queue.shift()
        queued -= head.sealed.length
        if (head.count > 1) {
          chunking--
          chunkingBytes -= head.sealed.length
        }
      }
      return frame
    }
    return null
  }

  const pump = async (): Promise<void> => {
    while (!done) {
      const frame = nextFrame()
      if (frame === null) {
        await sleep()
        continue
      }
      while (!done && outstanding > 0 && outstanding + frame.length > SYNC_WINDOW_BYTES) await sleep()
      if (done) return
      outstanding += frame.length
      await frames.write(frame, { signal: stop.signal })
    }
  }

  const readCredits = async (): Promise<void> => {
    while (!done) {
      const frame = await frames.read({ signal: stop.signal })
      const m = decodeSyncMessage(frame)
      if (m.type !== 'credit') throw new SyncFlowViolationError('wrong-direction', `a ${m.type} frame came back on our own stream`)
      if (m.bytes > outstanding) throw new SyncFlowViolationError('credit-exceeded', `${m.bytes} bytes credited, ${outstanding} outstanding`)
      outstanding -= m.bytes
      notify()
    }
  }

  const fail = (err: unknown): void => end(err instanceof Error ? err : new SyncFrameMalformedError('unexpected value thrown', { cause: err }))
  pump().catch(fail)
  readCredits().catch(fail)

  return {
    control(m) {
      if (done) return
      controls.delete(`${m.type}|${m.doc}`)
      controls.set(`${m.type}|${m.doc}`, m)
      notify()
    },
    data(type, doc, sealed) {
      if (done) return
      const count = syncFrameCount(doc, sealed.length)
      let queue = queues.get(doc)
      if (queue === undefined) {
        queue = []
        queues.set(doc, queue)
        rotation.push(doc)
      }
      const waiting = type === 'step2' ? queue.find((m) => m.type === 'step2' && m.next === 0) : undefined
      if (waiting !== undefined) {
        queued += sealed.length - waiting.sealed.length
        waiting.sealed = sealed
        waiting.count = count
      } else {
        queue.push({ type, doc, sealed, count, id: 0, next: 0 })
        queued += sealed.length
      }
      if (queued > maxQueued) {
        end(new SyncSendQueueFullError(queued, maxQueued))
        return
      }
      notify()
    },
    ended,
    abort(reason) {
      end(null, reason)
    },
  }
}

export interface SyncReceiverDeps {
  /** Handles one frame; must not throw (the receiver logs nothing itself). */
  handle(frame: Uint8Array): Promise<void>
  /**
   * Runs `task` after every task queued before it for the same peer, by this receiver or an
   * earlier one: a peer's frames are handled strictly in order, one at a time.
   */
  enqueue(task: () => Promise<void>): void
}

export interface SyncReceiver {
  readonly ended: Promise<StreamEnd>
  /** Ends the stream by our choice (frames read and not yet handled are dropped): `ended` resolves with null. */
  abort(reason: Error): void
  /** Whether the stream is still being read. */
  open(): boolean
}

export function createSyncReceiver(frames: FrameStream, deps: SyncReceiverDeps): SyncReceiver {
  const stop = new AbortController()
  let unhandled = 0
  let credit = 0
  let done = false
  let finish: (end: StreamEnd) => void = () => undefined
  const ended = new Promise<StreamEnd>((resolve) => {
    finish = resolve
  })
  const end = (error: Error | null, reason?: Error): void => {
    if (done) return
    done = true
    stop.abort(reason ?? error ?? new Error('sync stream closed'))
    frames.abort(error ?? reason ?? new Error('sync stream closed'))
    finish(error)
  }

  let writing = false
  const sendCredit = (): void => {
    // Credit in batches, and always once nothing is left: a writer waiting on its window then
    // always hears back. One credit write at a time: a peer that does not read its credits
    // gets them merged, not queued.
    if (writing || credit === 0 || (unhandled > 0 && credit < SYNC_WINDOW_BYTES / 2)) return
    const bytes = credit
    credit = 0
    writing = true
    frames.write(encodeSyncMessage({ type: 'credit', bytes }), { signal: stop.signal }).then(
      () => {
        writing = false
        if (!done) sendCredit()
      },
      (err: unknown) => end(err instanceof Error ? err : new Error(String(err))),
    )
  }
  const handled = (bytes: number): void => {
    unhandled -= bytes
    credit += bytes
    sendCredit()
  }

  const read = async (): Promise<void> => {
    while (!done) {
      const frame = await frames.read({ signal: stop.signal })
      unhandled += frame.length
      if (unhandled > SYNC_WINDOW_BYTES) {
        throw new SyncFlowViolationError('window-exceeded', `${unhandled} bytes unhandled, over the ${SYNC_WINDOW_BYTES}-byte window`)
      }
      deps.enqueue(async () => {
        if (done) return
        try {
          await deps.handle(frame)
        } finally {
          if (!done) handled(frame.length)
        }
      })
    }
  }
  read().catch((err: unknown) => end(err instanceof Error ? err : new Error(String(err))))

  return {
    ended,
    abort(reason) {
      end(null, reason)
    },
    open: () => !done,
  }
}
