/**
 * Keeps this machine's documents in step with every connected member over the sync protocol
 * (sync-protocol.ts, bound to streams by sync-stream.ts): one outbound stream per member
 * carries our step 1s, step 2s and updates; the member's own stream brings theirs. Every
 * update is sealed with the current mesh key before it leaves. A reconnect, a new stream from
 * a peer, or a new mesh key epoch runs the step 1/2 exchange again, which repairs any gap.
 *
 * A peer's frames are handled strictly in order, one at a time, each awaited to the end
 * (documents.applyRemote may take time). A refused frame or update costs only itself: it is
 * logged with its code, counted per peer, reported back to the peer (REFUSED) and shown in
 * status(); the stream stays up and every other document goes on syncing. What only a buggy
 * or hostile member sends counts toward a backoff (sync-backoff.ts): past the limit the
 * peer's streams are closed, and for the backoff neither is its stream accepted nor ours
 * opened to it; then sync starts again by itself. Every stream that ends other than by our
 * choice is logged and counted, and the stream is opened again.
 *
 * Work a peer already did is not repeated: an update is not relayed to a peer whose last
 * step 1 state vector reaches all of it (unless it deletes), and a received update that holds
 * only structs our document has and deletes nothing is decoded, so malformed bytes are still
 * refused, but neither checked on a scratch document nor applied.
 */
import type { Connection, Stream } from '@libp2p/interface'
import * as Y from 'yjs'
import type { MeshKey } from '../identity/index.js'
import { frameStream, type Mesh } from '../mesh/index.js'
import { type Clock, type Logger, type TimerHandle } from '../runtime/index.js'
import type { Documents } from './documents.js'
import {
  SyncApplyFailedError,
  SyncFlowViolationError,
  SyncFrameMalformedError,
  SyncFrameTooLargeError,
  SyncMessageTooLargeError,
  SyncOpenFailedError,
  SyncPeerBackedOffError,
  SyncRefusedByPeerError,
  SyncStreamResetError,
  SyncUpdateRejectedError,
  isBenignRefusal,
} from './errors.js'
import { DOC_NAMES, isDocName, openUpdate, sealUpdate, updateId, type DocName } from './sealed-update.js'
import { countsTowardBackoff, createSyncBackoff, type SyncBackoffOptions } from './sync-backoff.js'
import { createSyncHealth, type PeerSyncState, type SyncFailure } from './sync-health.js'
import { createSyncOutbox, type Batch } from './sync-outbox.js'
import { createReassembler, type Reassembler, type ReassemblyLimits } from './sync-reassembly.js'
import { MAX_SYNC_FRAME, MAX_SYNC_MESSAGE_BYTES, SYNC_PROTOCOL, decodeSyncMessage, refusedReason, type SyncMessage, type SyncPayloadKind } from './sync-protocol.js'
import { createSyncReceiver, createSyncSender, type ControlMessage, type SyncReceiver, type SyncSender } from './sync-stream.js'

export type { DocSyncState, PeerSyncState, SyncFailure } from './sync-health.js'

export interface SyncEngineDeps {
  mesh: Mesh
  documents: Documents
  clock: Clock
  logger: Logger
  /** Fixed for the life of the engine: it runs only on a member. */
  meshId: string
}

export interface SyncEngineOptions {
  /** Delay before acknowledging received updates (one ACK per document per delay); default 10 ms. */
  ackDelayMs?: number
  /** How long opening our stream to a peer may take; default 10 s. */
  openTimeoutMs?: number
  /** Wait before opening our stream again after it ended, doubled on each failure in a row; default 1 s. */
  reopenDelayMs?: number
  /** Longest such wait; default 60 s. */
  maxReopenDelayMs?: number
  /** Bytes queued for one peer past which its stream is reset and resynced; default 256 MiB. */
  maxQueuedBytes?: number
  /** When a peer's sync is switched off for a while (sync-backoff.ts). */
  backoff?: SyncBackoffOptions
  /** This side's reassembly bounds (the protocol's by default; a sender keeps to those). */
  reassembly?: ReassemblyLimits
}

export interface SyncEngine {
  start(): Promise<void>
  stop(): void
  /** Per connected member: how its sync goes, per document, and why it fails if it does. */
  status(): Record<string, PeerSyncState>
  /** Counts of refused frames and updates from any peer, by code. */
  refused(): Record<string, number>
}

interface PeerLink {
  out: SyncSender | null
  opening: Promise<void> | null
  in: SyncReceiver | null
  /** The peer's frames, handled one at a time, across its successive streams. */
  chain: Promise<void>
  sent: Map<DocName, number>
  acked: Map<DocName, number>
  done: Set<DocName>
  received: Map<DocName, number>
  ackTimer: TimerHandle | null
  reopenTimer: TimerHandle | null
  /** Our streams to the peer that ended in a row, without both streams being up in between. */
  reopenFailures: number
  /**
   * Per document, the state vector of the peer's last step 1: it holds at least that much
   * (a document only grows). Cleared with the stream; absent means unknown (send everything).
   */
  holds: Map<DocName, Map<number, number>>
  /** Documents for which we asked the peer for a step 2 to fill a gap, until it comes. */
  repairing: Set<DocName>
}

const SEEN_LIMIT = 50_000
const OPEN_ATTEMPTS = 5

/** A refusal as the engine records it: its code, the error's short reason, and whether it concerns one document. */
interface Refusal {
  code: string
  reason: string
  doc: DocName | null
  of: SyncPayloadKind | null
}

export function createSyncEngine(deps: SyncEngineDeps, options: SyncEngineOptions = {}): SyncEngine {
  const { mesh, documents, clock, logger } = deps
  const reopenDelayMs = options.reopenDelayMs ?? 1000
  const maxReopenDelayMs = options.maxReopenDelayMs ?? 60_000
  const openTimeoutMs = options.openTimeoutMs ?? 10_000
  const links = new Map<string, PeerLink>()
  const seen = new Set<string>()
  const health = createSyncHealth()
  const backoff = createSyncBackoff(options.backoff)
  const backoffTimers = new Map<string, TimerHandle>()
  const unsubscribers: Array<() => void> = []
  let running = false

  const link = (peerId: string): PeerLink => {
    let l = links.get(peerId)
    if (l === undefined) {
      l = { out: null, opening: null, in: null, chain: Promise.resolve(), sent: new Map(), acked: new Map(), done: new Set(), received: new Map(), ackTimer: null, reopenTimer: null, reopenFailures: 0, holds: new Map(), repairing: new Set() }
      links.set(peerId, l)
    }
    return l
  }
  const keyFor = (epoch: number): MeshKey | undefined => mesh.meshKeys().find((k) => k.epoch === epoch)
  const currentKey = (): MeshKey | undefined => mesh.meshKeys().at(-1)
  const connected = (peerId: string): boolean => mesh.connectedMembers().includes(peerId)
  const failure = (code: string, reason: string): SyncFailure => ({ code, reason, at: clock.now() })

  const sealed = (doc: DocName, update: Uint8Array): Uint8Array | null => {
    const key = currentKey()
    if (key === undefined) return null
    return sealUpdate(key, deps.meshId, doc, update)
  }

  // ---- sending ----------------------------------------------------------------------------

  const sendControl = (peerId: string, m: ControlMessage): void => {
    const out = links.get(peerId)?.out
    if (out != null) out.control(m)
    else void openOutbound(peerId).then(() => links.get(peerId)?.out?.control(m))
  }

  /** Queues a step 2 or update for a peer; a message too large to send is a failure of that document. */
  const sendData = (peerId: string, out: SyncSender, type: SyncPayloadKind, doc: DocName, box: Uint8Array): boolean => {
    try {
      out.data(type, doc, box)
      return true
    } catch (err) {
      if (!(err instanceof SyncMessageTooLargeError)) throw err
      health.docFailed(peerId, doc, 'out', failure(err.code, `our ${type} of ${err.bytes} bytes is over the ${err.limit}-byte limit`))
      logger.error({ code: err.code, peerId, doc, bytes: err.bytes, limit: err.limit }, 'a sync message is too large to send; this document cannot catch up on that peer')
      return false
    }
  }

  const sendStep1 = (peerId: string): void => {
    for (const doc of DOC_NAMES) sendControl(peerId, { type: 'step1', doc, stateVector: Y.encodeStateVector(documents.doc(doc)) })
  }

  const sendBatch = ({ doc, from, merged, reaches, deletes }: Batch): void => {
    // A peer whose known state already reaches every struct of the batch gets nothing: in a
    // full mesh that is every peer but the writer's for a relayed update.
    const targets = mesh.connectedMembers().filter((p) => {
      const l = links.get(p)
      return p !== from && l?.out != null && (deletes || !covers(l.holds.get(doc), reaches))
    })
    if (targets.length === 0) return
    const box = sealed(doc, merged())
    if (box === null) return
    for (const peerId of targets) {
      const l = link(peerId)
      if (l.out !== null && sendData(peerId, l.out, 'update', doc, box)) l.sent.set(doc, (l.sent.get(doc) ?? 0) + 1)
    }
  }
  const outbox = createSyncOutbox({ clock, send: sendBatch })

  const scheduleAck = (peerId: string, l: PeerLink): void => {
    if (l.ackTimer !== null) return
    l.ackTimer = clock.setTimeout(() => {
      l.ackTimer = null
      for (const [doc, count] of l.received) sendControl(peerId, { type: 'ack', doc, count: count % 0x1_0000_0000 })
    }, options.ackDelayMs ?? 10)
  }

  // ---- refusals, failures and backoff -----------------------------------------------------

  const closeLink = (peerId: string, reason: Error): void => {
    const l = links.get(peerId)
    if (l === undefined) return
    l.out?.abort(reason)
    l.in?.abort(reason)
    l.out = null
    l.in = null
    l.done.clear()
    l.holds.clear()
    l.repairing.clear()
    l.ackTimer?.cancel()
    l.ackTimer = null
    l.reopenTimer?.cancel()
    l.reopenTimer = null
  }

  const refuse = (peerId: string, r: Refusal, message: string): void => {
    health.refused(peerId, r.code)
    logger.warn({ code: r.code, reason: r.reason, peerId, doc: r.doc }, message)
    if (r.doc !== null && r.reason !== 'replay') health.docFailed(peerId, r.doc, 'in', failure(r.code, r.reason))
    if (r.doc !== null && r.of !== null) sendControl(peerId, { type: 'refused', doc: r.doc, of: r.of, code: r.code, reason: refusedReason(r.reason) })
    if (!countsTowardBackoff(r.code, r.reason)) return
    const started = backoff.refused(peerId, clock.now(), `${r.code} (${r.reason})${r.doc === null ? '' : ` on ${r.doc}`}`)
    if (started === null) return
    const err = new SyncPeerBackedOffError(peerId, started.until, started.times, started.reason)
    logger.warn({ code: err.code, peerId, until: started.until, times: started.times, reason: started.reason }, 'too many sync refusals from a peer: its sync is off for a while')
    closeLink(peerId, err)
    backoffTimers.get(peerId)?.cancel()
    backoffTimers.set(
      peerId,
      clock.setTimeout(() => {
        backoffTimers.delete(peerId)
        logger.info({ peerId }, 'sync backoff over; syncing with the peer again')
        if (running && connected(peerId)) void openOutbound(peerId)
      }, started.until - clock.now()),
    )
  }

  const refusalOf = (err: unknown, doc: DocName | null, of: SyncPayloadKind | null): Refusal => {
    const e = err as { code?: unknown; reason?: unknown; message?: unknown }
    const code = typeof e.code === 'string' ? e.code : 'SYNC_FRAME_MALFORMED'
    return { code, reason: typeof e.reason === 'string' ? e.reason : String(e.message ?? 'refused'), doc, of }
  }

  /** A stream ended without our choosing it: logged, counted, and ours opened again. */
  const streamEnded = (peerId: string, direction: 'inbound' | 'outbound', err: Error): void => {
    if (!running) return
    // The frame that cannot be skipped and the flow rules broken are refusals too.
    if (err.name === 'InvalidDataLengthError' || err.name === 'InvalidDataLengthLengthError') {
      refuse(peerId, refusalOf(new SyncFrameTooLargeError(MAX_SYNC_FRAME, { cause: err }), null, null), 'sync frame over the limit refused; stream reset')
    } else if (direction === 'inbound' && err.name === 'StreamBufferError') {
      // libp2p's own 4 MiB read buffer overflowed: only a writer past its window gets there.
      refuse(peerId, refusalOf(new SyncFlowViolationError('window-exceeded', 'the stream read buffer overflowed'), null, null), 'sync stream refused; stream reset')
    } else if (err instanceof SyncFlowViolationError || err instanceof SyncFrameMalformedError) {
      refuse(peerId, refusalOf(err, null, null), 'sync stream refused; stream reset')
    }
    if (!connected(peerId)) {
      logger.debug({ code: 'SYNC_STREAM_RESET', peerId, direction, err: err.message }, 'sync stream ended with the connection')
      return
    }
    const reset = new SyncStreamResetError(peerId, direction, `${err.name}: ${err.message}`, { cause: err })
    health.streamReset(peerId, failure(reset.code, `${direction} stream ended: ${err.name}: ${err.message}`))
    logger.warn({ code: reset.code, peerId, direction, cause: (err as { code?: unknown }).code ?? err.name, err: err.message }, 'sync stream reset')
    const l = link(peerId)
    if (direction === 'outbound' && l.reopenTimer === null && backoff.active(peerId, clock.now()) === null) {
      // A peer that keeps resetting our stream (one that has backed us off, say) is tried less and less often.
      const delay = Math.min(maxReopenDelayMs, reopenDelayMs * 2 ** Math.min(l.reopenFailures, 20))
      l.reopenFailures++
      l.reopenTimer = clock.setTimeout(() => {
        l.reopenTimer = null
        if (running && connected(peerId)) void openOutbound(peerId)
      }, delay)
    }
  }

  // ---- receiving --------------------------------------------------------------------------

  /** Opens, checks and applies one whole step 2 or update from a peer. */
  const accept = async (peerId: string, l: PeerLink, type: SyncPayloadKind, doc: DocName, box: Uint8Array): Promise<void> => {
    const uid = updateId(box)
    if (seen.has(uid)) {
      refuse(peerId, { code: 'SYNC_UPDATE_REJECTED', reason: 'replay', doc, of: null }, 'replayed sealed update refused')
      return
    }
    let opened: { update: Uint8Array }
    try {
      // One bound for both: a step 2 carries what a peer lacks, which after a long absence is
      // most of the document, and an update could be sent as one. What applying costs is
      // bounded by documents.applyRemote, not by bytes.
      opened = openUpdate(keyFor, deps.meshId, doc, box, { maxBytes: MAX_SYNC_MESSAGE_BYTES })
    } catch (err) {
      refuse(peerId, refusalOf(err, doc, type), 'sealed update refused')
      return
    }
    if (seen.size >= SEEN_LIMIT) seen.clear()
    seen.add(uid)
    if (type === 'step2') l.repairing.delete(doc)
    try {
      // Checked against the document's schema, dependencies and cost, and skipped when
      // already held (a second peer's step 2, say), by applyRemote.
      await documents.applyRemote(doc, opened.update, peerId)
    } catch (err) {
      if (err instanceof SyncUpdateRejectedError) {
        refuse(peerId, refusalOf(err, doc, type), 'update refused by the document')
        // An update that needs structs we lack (it overtook one from a third member) is
        // refused rather than parked unchecked; the peer's step 2 for our state vector holds
        // the gap and the update. Asked once until that step 2 comes.
        if (isBenignRefusal(err) && !l.repairing.has(doc) && l.out !== null) {
          l.repairing.add(doc)
          sendControl(peerId, { type: 'step1', doc, stateVector: Y.encodeStateVector(documents.doc(doc)) })
        }
        return
      }
      // Not the peer's fault: forget the id, so the same bytes may be tried again.
      seen.delete(uid)
      const failed = new SyncApplyFailedError(doc, { cause: err })
      health.docFailed(peerId, doc, 'in', failure(failed.code, String((err as { code?: unknown }).code ?? (err as Error).name ?? 'error')))
      logger.error({ code: failed.code, peerId, doc, cause: (err as { code?: unknown }).code, err: (err as Error).message }, 'applying a peer update failed')
      return
    }
    health.docOk(peerId, doc, 'in')
    if (type === 'step2') sendControl(peerId, { type: 'done', doc })
    else {
      l.received.set(doc, (l.received.get(doc) ?? 0) + 1)
      scheduleAck(peerId, l)
    }
  }

  const handleFrame = async (peerId: string, l: PeerLink, receiver: SyncReceiver, reassembler: Reassembler, frame: Uint8Array): Promise<void> => {
    let message: SyncMessage
    try {
      message = decodeSyncMessage(frame)
    } catch (err) {
      refuse(peerId, refusalOf(err, null, null), 'sync frame refused')
      return
    }
    if (message.type === 'credit') {
      refuse(peerId, { code: 'SYNC_FLOW_VIOLATION', reason: 'wrong-direction', doc: null, of: null }, 'credit frame on a peer stream refused; stream reset')
      receiver.abort(new Error('credit on a peer stream'))
      return
    }
    if (!isDocName(message.doc)) {
      refuse(peerId, { code: 'SYNC_UPDATE_REJECTED', reason: 'wrong-document', doc: null, of: null }, 'sync frame for an unknown document refused')
      return
    }
    const doc = message.doc
    switch (message.type) {
      case 'step1': {
        try {
          l.holds.set(doc, Y.decodeStateVector(message.stateVector))
        } catch (err) {
          // The answer below still goes out: encodeStateAsUpdate copes with what decoding refused.
          logger.debug({ code: 'SYNC_FRAME_MALFORMED', peerId, doc, err: (err as Error).message }, 'a step 1 state vector does not decode; what the peer holds is forgotten')
          l.holds.delete(doc)
        }
        const box = sealed(doc, Y.encodeStateAsUpdate(documents.doc(doc), message.stateVector))
        if (box === null) return
        if (l.out !== null) sendData(peerId, l.out, 'step2', doc, box)
        else {
          void openOutbound(peerId).then(() => {
            const out = links.get(peerId)?.out
            if (out != null) sendData(peerId, out, 'step2', doc, box)
          })
        }
        return
      }
      case 'step2':
      case 'update':
        await accept(peerId, l, message.type, doc, message.sealed)
        return
      case 'chunk': {
        let whole
        try {
          whole = reassembler.add(message)
        } catch (err) {
          refuse(peerId, refusalOf(err, doc, message.of), 'sync chunk refused')
          return
        }
        if (whole !== null) await accept(peerId, l, whole.type, doc, whole.sealed)
        return
      }
      case 'done':
        l.done.add(doc)
        health.docOk(peerId, doc, 'out')
        return
      case 'ack':
        l.acked.set(doc, message.count)
        health.docOk(peerId, doc, 'out')
        return
      case 'refused': {
        const err = new SyncRefusedByPeerError(doc, message.code, message.reason)
        health.docFailed(peerId, doc, 'out', failure(err.code, `${message.code} (${message.reason}) on our ${message.of}`))
        logger.warn({ code: err.code, peerId, doc, peerCode: message.code, reason: message.reason, of: message.of }, 'a peer refused our sync update')
        return
      }
    }
  }

  const inbound = async (stream: Stream, connection: Connection): Promise<void> => {
    const peerId = connection.remotePeer.toString()
    const off = backoff.active(peerId, clock.now())
    if (!running || off !== null) {
      logger.debug({ code: 'SYNC_PEER_BACKED_OFF', peerId }, 'refused a sync stream')
      stream.abort(off === null ? new Error('sync stopped') : new SyncPeerBackedOffError(peerId, off.until, off.times, off.reason))
      return
    }
    const l = link(peerId)
    // A new stream from the peer replaces its previous one: its old one is done with.
    l.in?.abort(new Error('replaced by a new stream from the peer'))
    l.received.clear()
    const reassembler = createReassembler(options.reassembly)
    const receiver: SyncReceiver = createSyncReceiver(frameStream(stream, MAX_SYNC_FRAME), {
      handle: (frame) => handleFrame(peerId, l, receiver, reassembler, frame),
      enqueue: (task) => {
        l.chain = l.chain.then(task).catch((err: unknown) => {
          logger.error({ code: 'SYNC_HANDLER_FAILED', peerId, err: (err as Error).message }, 'handling a sync frame failed')
        })
      },
    })
    l.in = receiver
    // The peer's previous stream may have ended with updates we never got: ask again.
    if (l.out !== null) {
      sendStep1(peerId)
      health.linkUp(peerId)
      l.reopenFailures = 0
    } else void openOutbound(peerId)
    const end = await receiver.ended
    reassembler.clear()
    if (l.in === receiver) l.in = null
    if (end !== null) streamEnded(peerId, 'inbound', end)
  }

  const openOutbound = (peerId: string): Promise<void> => {
    if (!running || backoff.active(peerId, clock.now()) !== null) return Promise.resolve()
    const l = link(peerId)
    if (l.out !== null) return Promise.resolve()
    l.opening ??= (async () => {
      let last: unknown = null
      for (let attempt = 0; attempt < OPEN_ATTEMPTS && running; attempt++) {
        const abort = new AbortController()
        const timer = clock.setTimeout(() => abort.abort(new Error(`no sync stream after ${openTimeoutMs} ms`)), openTimeoutMs)
        try {
          const stream = await mesh.openStream(peerId, SYNC_PROTOCOL, { signal: abort.signal })
          if (!running || backoff.active(peerId, clock.now()) !== null) {
            stream.abort(new Error('sync stopped'))
            return
          }
          const sender = createSyncSender(frameStream(stream, MAX_SYNC_FRAME), options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxQueuedBytes })
          l.out = sender
          l.done.clear()
          l.holds.clear()
          l.repairing.clear()
          l.sent.clear()
          l.acked.clear()
          if (l.in !== null) {
            health.linkUp(peerId)
            l.reopenFailures = 0
          }
          sendStep1(peerId)
          void sender.ended.then((end) => {
            if (l.out === sender) {
              l.out = null
              l.done.clear()
              l.holds.clear()
              l.repairing.clear()
            }
            if (end !== null) streamEnded(peerId, 'outbound', end)
          })
          return
        } catch (err) {
          last = err
          logger.debug({ code: 'SYNC_OPEN_FAILED', peerId, attempt, err: (err as Error).message }, 'could not open the sync stream')
          await clock.sleep(200 * (attempt + 1))
        } finally {
          timer.cancel()
        }
      }
      if (running && last !== null && connected(peerId)) {
        const err = new SyncOpenFailedError(peerId, { cause: last })
        health.streamReset(peerId, failure(err.code, `could not open our sync stream: ${(last as Error).message}`))
        logger.warn({ code: err.code, peerId, err: (last as Error).message }, 'could not open the sync stream; trying again on the next connection')
      }
    })().finally(() => {
      l.opening = null
    })
    return l.opening
  }

  return {
    async start() {
      running = true
      await mesh.handle(SYNC_PROTOCOL, (stream, connection) => inbound(stream, connection), { maxInboundStreams: 4 })
      unsubscribers.push(
        mesh.on('member:connect', ({ peerId }) => void openOutbound(peerId)),
        mesh.on('member:disconnect', ({ peerId }) => closeLink(peerId, new Error('member disconnected'))),
        // A new epoch may unlock updates we refused as unknown-epoch: ask everyone again.
        mesh.on('keys:change', () => {
          for (const peerId of mesh.connectedMembers()) if (links.get(peerId)?.out != null) sendStep1(peerId)
        }),
        documents.onUpdate((u) => outbox.add(u)),
      )
      for (const peerId of mesh.connectedMembers()) void openOutbound(peerId)
    },
    stop() {
      running = false
      outbox.clear()
      for (const off of unsubscribers.splice(0)) off()
      for (const timer of backoffTimers.values()) timer.cancel()
      backoffTimers.clear()
      for (const peerId of links.keys()) closeLink(peerId, new Error('sync stopped'))
      links.clear()
    },
    status() {
      const now = clock.now()
      const result: Record<string, PeerSyncState> = {}
      for (const peerId of mesh.connectedMembers()) {
        const l = link(peerId)
        const docs = DOC_NAMES.map((doc) => ({ doc, inSync: l.done.has(doc), behind: Math.max(0, (l.sent.get(doc) ?? 0) - (l.acked.get(doc) ?? 0)) }))
        result[peerId] = health.state(peerId, { docs, streams: { outbound: l.out !== null, inbound: l.in !== null }, backoff: backoff.active(peerId, now), recentRefusals: backoff.recent(peerId, now) })
      }
      return result
    },
    refused: () => health.totals(),
  }
}

/** Whether state vector `holds` reaches every clock of `reaches`; an unknown state never does. */
function covers(holds: Map<number, number> | undefined, reaches: Map<number, number>): boolean {
  if (holds === undefined) return false
  for (const [client, clock] of reaches) if ((holds.get(client) ?? 0) < clock) return false
  return true
}

