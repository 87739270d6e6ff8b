/**
 * Binds the sync protocol (sync-protocol.ts) to the mesh: one outbound stream per connected
 * member carries our step 1s, step 2s and updates; the member's own stream brings theirs.
 * Every update is sealed with the current mesh key before it leaves; one that fails to open,
 * is malformed, or replays bytes already seen is refused, logged with its code, and never
 * applied, and the stream stays up. A reconnect runs the step 1/2 exchange again, which
 * repairs any gap; so does learning a new mesh key epoch.
 *
 * Work a peer already did is not repeated: an update is not relayed to a peer whose last
 * step 1 state vector reaches all of it (unless it deletes), and a received update that holds
 * only structs our document has and deletes nothing is decoded, so malformed bytes are still
 * refused, but neither checked on a scratch document nor applied.
 */
import type { Connection, Stream } from '@libp2p/interface'
import * as Y from 'yjs'
import type { MeshKey } from '../identity/index.js'
import { frameStream, type Clock, type FrameStream, type Mesh, type MeshLogger } from '../mesh/index.js'
import type { Documents } from './documents.js'
import { DOC_NAMES, isDocName, openUpdate, sealUpdate, updateId, type DocName } from './sealed-update.js'
import { MAX_SYNC_FRAME, SYNC_PROTOCOL, decodeSyncMessage, encodeSyncMessage, type SyncMessage } from './sync-protocol.js'

export interface SyncEngineDeps {
  mesh: Mesh
  documents: Documents
  clock: Clock
  logger: MeshLogger
  /** Fixed for the life of the engine: it runs only on a member. */
  meshId: string
}

export interface DocSyncState {
  /** The peer applied our step 2 for this document. */
  inSync: boolean
  /** Our updates sent to the peer that it has not acknowledged yet. */
  behind: number
}

export interface SyncEngine {
  start(): Promise<void>
  stop(): void
  /** Per peer, per document. */
  status(): Record<string, Record<DocName, DocSyncState>>
  /** Counts of refused frames and updates, by code. */
  refused(): Record<string, number>
}

interface PeerLink {
  out: FrameStream | null
  opening: Promise<void> | null
  sent: Map<DocName, number>
  acked: Map<DocName, number>
  done: Set<DocName>
  received: Map<DocName, number>
  ackTimer: { cancel(): void } | null
  /**
   * Per document, the state vector of the peer's last step 1: it holds at least that much
   * (a document only grows). Cleared with the stream; absent means unknown (send everything).
   */
  holds: Map<DocName, Map<number, number>>
}

const SEEN_LIMIT = 50_000
const MAX_BATCH_BYTES = 1024 * 1024

interface Batch {
  doc: DocName
  from: string | null
  updates: Uint8Array[]
  bytes: number
  reaches: Map<number, number>
  deletes: boolean
}

export function createSyncEngine(deps: SyncEngineDeps, options: { ackDelayMs?: number } = {}): SyncEngine {
  const { mesh, documents, clock, logger } = deps
  const links = new Map<string, PeerLink>()
  const seen = new Set<string>()
  const refusals: Record<string, number> = {}
  const unsubscribers: Array<() => void> = []
  let running = false
  const outbox = new Map<string, Batch>()
  let flushTimer: { cancel(): void } | null = null

  const link = (peerId: string): PeerLink => {
    let l = links.get(peerId)
    if (l === undefined) {
      l = { out: null, opening: null, sent: new Map(), acked: new Map(), done: new Set(), received: new Map(), ackTimer: null, holds: new Map() }
      links.set(peerId, l)
    }
    return l
  }
  const keyFor = (epoch: number): MeshKey | undefined => mesh.meshKeys().find((k) => k.epoch === epoch)
  const currentKey = (): MeshKey | undefined => mesh.meshKeys().at(-1)

  const refuse = (code: string, fields: object, message: string): void => {
    refusals[code] = (refusals[code] ?? 0) + 1
    logger.warn({ code, ...fields }, message)
  }

  const send = async (peerId: string, message: SyncMessage): Promise<void> => {
    const l = links.get(peerId)
    if (l?.out === null || l?.out === undefined) return
    try {
      await l.out.write(encodeSyncMessage(message))
    } catch (err) {
      logger.debug({ code: 'SYNC_SEND_FAILED', peerId, err: (err as Error).message }, 'sync send failed; the next connection repairs it')
      l.out = null
      l.holds.clear()
    }
  }

  const sealed = (doc: DocName, update: Uint8Array): Uint8Array | null => {
    const key = currentKey()
    if (key === undefined) return null
    return sealUpdate(key, deps.meshId, doc, update)
  }

  const sendStep1 = (peerId: string): void => {
    for (const doc of DOC_NAMES) void send(peerId, { type: 'step1', doc, stateVector: Y.encodeStateVector(documents.doc(doc)) })
  }

  const openOutbound = (peerId: string): Promise<void> => {
    const l = link(peerId)
    if (l.out !== null) return Promise.resolve()
    l.opening ??= (async () => {
      for (let attempt = 0; attempt < 5 && running; attempt++) {
        try {
          const stream = await mesh.openStream(peerId, SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
          l.out = frameStream(stream, MAX_SYNC_FRAME)
          l.done.clear()
          sendStep1(peerId)
          return
        } catch (err) {
          logger.debug({ code: 'SYNC_OPEN_FAILED', peerId, attempt, err: (err as Error).message }, 'could not open the sync stream')
          await clock.sleep(200 * (attempt + 1))
        }
      }
    })().finally(() => {
      l.opening = null
    })
    return l.opening
  }

  const sendBatch = ({ doc, from, updates, reaches, deletes }: Batch): void => {
    // A peer whose known state already reaches every struct of the batch gets nothing: in a
    // full mesh that is every peer but the writer's for a relayed update.
    const targets = mesh.connectedMembers().filter((p) => {
      const l = links.get(p)
      return p !== from && l?.out != null && (deletes || !covers(l.holds.get(doc), reaches))
    })
    if (targets.length === 0) return
    const box = sealed(doc, mergeInRounds(updates))
    if (box === null) return
    for (const peerId of targets) {
      const l = link(peerId)
      l.sent.set(doc, (l.sent.get(doc) ?? 0) + 1)
      void send(peerId, { type: 'update', doc, sealed: box })
    }
  }

  const flush = (): void => {
    flushTimer = null
    const batches = [...outbox.values()]
    outbox.clear()
    for (const batch of batches) sendBatch(batch)
  }

  const scheduleAck = (peerId: string, l: PeerLink): void => {
    if (l.ackTimer !== null) return
    l.ackTimer = clock.setTimeout(() => {
      l.ackTimer = null
      for (const [doc, count] of l.received) void send(peerId, { type: 'ack', doc, count: count % 0x1_0000_0000 })
    }, options.ackDelayMs ?? 10)
  }

  const onFrame = (peerId: string, frame: Uint8Array): void => {
    let message: SyncMessage
    try {
      message = decodeSyncMessage(frame)
    } catch (err) {
      refuse((err as { code?: string }).code ?? 'SYNC_FRAME_MALFORMED', { peerId }, 'sync frame refused')
      return
    }
    if (!isDocName(message.doc)) {
      refuse('SYNC_UPDATE_REJECTED', { peerId, reason: 'wrong-document', doc: message.doc }, 'sync frame for an unknown document refused')
      return
    }
    const doc = message.doc
    const l = link(peerId)
    switch (message.type) {
      case 'step1': {
        try {
          l.holds.set(doc, Y.decodeStateVector(message.stateVector))
        } catch {
          l.holds.delete(doc)
        }
        const diff = Y.encodeStateAsUpdate(documents.doc(doc), message.stateVector)
        const box = sealed(doc, diff)
        if (box !== null) void openOutbound(peerId).then(() => send(peerId, { type: 'step2', doc, sealed: box }))
        return
      }
      case 'step2':
      case 'update': {
        const uid = updateId(message.sealed)
        if (seen.has(uid)) {
          refuse('SYNC_UPDATE_REJECTED', { peerId, reason: 'replay', doc }, 'replayed sealed update refused')
          return
        }
        let opened: { update: Uint8Array }
        try {
          // A step 2 carries what a peer lacks, which after a long absence is a large part of
          // the document: allow it the whole frame.
          opened = openUpdate(keyFor, deps.meshId, doc, message.sealed, message.type === 'step2' ? { maxBytes: MAX_SYNC_FRAME } : {})
        } catch (err) {
          refuse((err as { code?: string }).code ?? 'SYNC_UPDATE_REJECTED', { peerId, reason: (err as { reason?: string }).reason, doc }, 'sealed update refused')
          return
        }
        if (seen.size >= SEEN_LIMIT) seen.clear()
        seen.add(uid)
        // Checked, and skipped when already held, by applyRemote.
        documents.applyRemote(doc, opened.update, peerId).catch((err: { code?: string; reason?: string }) => {
          refuse(err.code ?? 'SYNC_UPDATE_REJECTED', { peerId, reason: err.reason, doc }, 'remote update refused')
        })
        if (message.type === 'step2') void send(peerId, { type: 'done', doc })
        else {
          l.received.set(doc, (l.received.get(doc) ?? 0) + 1)
          scheduleAck(peerId, l)
        }
        return
      }
      case 'done':
        l.done.add(doc)
        return
      case 'ack':
        l.acked.set(doc, message.count)
        return
    }
  }

  const inbound = async (stream: Stream, connection: Connection): Promise<void> => {
    const peerId = connection.remotePeer.toString()
    const frames = frameStream(stream, MAX_SYNC_FRAME)
    // Make sure our direction exists too (the peer may have connected first).
    void openOutbound(peerId)
    for (;;) {
      let frame: Uint8Array
      try {
        frame = await frames.read({ signal: AbortSignal.timeout(24 * 60 * 60_000) })
      } catch {
        return
      }
      onFrame(peerId, frame)
    }
  }

  return {
    async start() {
      running = true
      await mesh.handle(SYNC_PROTOCOL, (stream, connection) => inbound(stream, connection), { maxInboundStreams: 4 })
      unsubscribers.push(
        mesh.on('member:connect', ({ peerId }) => void openOutbound(peerId)),
        mesh.on('member:disconnect', ({ peerId }) => {
          const l = links.get(peerId)
          if (l !== undefined) {
            l.out = null
            l.done.clear()
            l.holds.clear()
            l.ackTimer?.cancel()
            l.ackTimer = null
          }
        }),
        // A new epoch may unlock updates we refused as unknown-epoch: ask everyone again.
        mesh.on('keys:change', () => {
          for (const peerId of mesh.connectedMembers()) sendStep1(peerId)
        }),
        documents.onUpdate(({ doc, update, from, reaches, deletes }) => {
          // Coalesce a burst: updates of one document from one origin, merged and sealed once
          // per tick, so a thousand quick writes cost the peers one open, one apply, one commit.
          const key = `${doc}|${from ?? ''}`
          const queued = outbox.get(key)
          if (queued === undefined) outbox.set(key, { doc, from, updates: [update], bytes: update.length, reaches: new Map(reaches), deletes })
          else {
            queued.updates.push(update)
            queued.bytes += update.length
            raise(queued.reaches, reaches)
            queued.deletes ||= deletes
            // Keep each sealed update well under what a peer opens (8 MiB).
            if (queued.bytes >= MAX_BATCH_BYTES) {
              outbox.delete(key)
              sendBatch(queued)
            }
          }
          flushTimer ??= clock.setTimeout(flush, 0)
        }),
      )
      for (const peerId of mesh.connectedMembers()) void openOutbound(peerId)
    },
    stop() {
      running = false
      flushTimer?.cancel()
      flushTimer = null
      outbox.clear()
      for (const off of unsubscribers.splice(0)) off()
      for (const l of links.values()) {
        l.ackTimer?.cancel()
        l.out?.abort(new Error('sync stopped'))
      }
      links.clear()
    },
    status() {
      const result: Record<string, Record<DocName, DocSyncState>> = {}
      for (const peerId of mesh.connectedMembers()) {
        const l = link(peerId)
        const perDoc = {} as Record<DocName, DocSyncState>
        for (const doc of DOC_NAMES) {
          const behind = Math.max(0, (l.sent.get(doc) ?? 0) - (l.acked.get(doc) ?? 0))
          perDoc[doc] = { inSync: l.done.has(doc) && behind === 0, behind }
        }
        result[peerId] = perDoc
      }
      return result
    },
    refused: () => ({ ...refusals }),
  }
}

/** Whether state vector `holds` reaches every clock of `reaches`; an unknown state never does. */
function covers(holds: Map<number, number> | undefined, reaches: Map<number, number>): boolean {
  if (holds === undefined) return false
  for (const [client, clock] of reaches) if ((holds.get(client) ?? 0) < clock) return false
  return true
}

/** Raises state vector `to` to at least `reaches`. */
function raise(to: Map<number, number>, reaches: Map<number, number>): void {
  for (const [client, clock] of reaches) if ((to.get(client) ?? 0) < clock) to.set(client, clock)
}

const MERGE_FAN_IN = 32

/**
 * Y.mergeUpdates of many updates, merged MERGE_FAN_IN at a time and then the results: Yjs
 * re-sorts its list of update readers at every gap between clock runs, so one call over the
 * ten thousand single-entry updates of a burst was quadratic and took seconds.
 */
function mergeInRounds(updates: Uint8Array[]): Uint8Array {
  let round = updates
  while (round.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < round.length; i += MERGE_FAN_IN) {
      const group = round.slice(i, i + MERGE_FAN_IN)
      next.push(group.length === 1 ? (group[0] as Uint8Array) : Y.mergeUpdates(group))
    }
    round = next
  }
  return round[0] as Uint8Array
}
