/**
 * One update for the local writes of a group commit, for the listeners (sync): what
 * Y.mergeUpdates of the group's updates would give, written straight from the document's own
 * structs instead, which costs one encoding of each struct rather than a decoding and an
 * encoding per merge round (Y.mergeUpdates of a turn's thousand single-entry writes was most
 * of what a burst cost the writer).
 *
 * A local write adds structs of this document's client only (a peer's update never carries
 * them: a Y.Doc's client id is new at every start), so the group's structs are, per client,
 * the clock range from its clock before the group's first write to its clock after the last;
 * nothing else adds structs of that client meanwhile. The deletions are those of the group's
 * transactions, merged. Structs are written as Yjs writes an update (writeStructs in
 * yjs.mjs): the first one from an offset when the range starts inside it (Yjs merges
 * structs), the others whole.
 */
import * as Y from 'yjs'
import type { Logger } from '../runtime/index.js'
import type { DocumentUpdate } from './documents.js'
import type { DocName } from './sealed-update.js'

/** Yjs's delete set, as a transaction holds it (the class is not exported by name). */
export type DeleteSet = Y.Transaction['deleteSet']

/** An update waiting for the group commit; a local one keeps what merging its group needs. */
export interface QueuedUpdate extends DocumentUpdate {
  /** Per client the update adds structs of, its clock before (local updates only). */
  starts: Map<number, number> | null
  deleteSet: DeleteSet | null
}

/**
 * A committed group as the listeners hear it: each remote update as it was, and one update
 * for the local writes of each document (in the place of the first of them).
 */
export function announcedUpdates(group: readonly QueuedUpdate[], docOf: (name: DocName) => Y.Doc, logger: Logger): DocumentUpdate[] {
  const out: DocumentUpdate[] = []
  const locals = new Map<DocName, QueuedUpdate[]>()
  for (const u of group) {
    if (u.from !== null) out.push(strip(u))
    else {
      const list = locals.get(u.doc)
      if (list === undefined) {
        locals.set(u.doc, [u])
        out.push(strip(u)) // stands for the document's local writes; replaced below when there are several
      } else list.push(u)
    }
  }
  for (const [name, list] of locals) {
    if (list.length < 2) continue
    const at = out.findIndex((u) => u.from === null && u.doc === name)
    try {
      out[at] = mergeLocal(docOf(name), name, list)
    } catch (err) {
      // Never expected; the updates one by one say the same, only at more cost to send.
      logger.error({ code: 'CRDT_GROUP_MERGE_FAILED', doc: name, err }, 'could not merge a group of local writes; passing them on one by one')
      out.splice(at, 1, ...list.map(strip))
    }
  }
  return out
}

function mergeLocal(doc: Y.Doc, name: DocName, list: readonly QueuedUpdate[]): DocumentUpdate {
  const ranges = new Map<number, GroupRange>()
  const reaches = new Map<number, number>()
  const deleteSets: DeleteSet[] = []
  let deletes = false
  for (const u of list) {
    for (const [client, to] of u.reaches) {
      const from = u.starts?.get(client) ?? 0
      const range = ranges.get(client)
      if (range === undefined) ranges.set(client, { from, to })
      else {
        range.from = Math.min(range.from, from)
        range.to = Math.max(range.to, to)
      }
      reaches.set(client, Math.max(reaches.get(client) ?? 0, to))
    }
    if (u.deleteSet !== null) deleteSets.push(u.deleteSet)
    deletes ||= u.deletes
  }
  return { doc: name, update: encodeGroupUpdate(doc, ranges, deleteSets), from: null, reaches, deletes }
}

function strip(u: QueuedUpdate): DocumentUpdate {
  return { doc: u.doc, update: u.update, from: u.from, reaches: u.reaches, deletes: u.deletes }
}

export interface GroupRange {
  /** Clock of the client before the group's first write. */
  from: number
  /** Clock just past the group's last struct. */
  to: number
}

export function encodeGroupUpdate(doc: Y.Doc, ranges: ReadonlyMap<number, GroupRange>, deleteSets: readonly DeleteSet[]): Uint8Array {
  const encoder = new Y.UpdateEncoderV1()
  const clients = [...ranges].filter(([, r]) => r.to > r.from).sort((a, b) => b[0] - a[0])
  encoder.writeLen(clients.length)
  for (const [client, { from, to }] of clients) {
    const structs = doc.store.clients.get(client) as Array<Y.Item | Y.GC> | undefined
    if (structs === undefined) throw new RangeError(`no structs of client ${client}`)
    const first = indexOf(structs, from)
    const last = indexOf(structs, to - 1)
    encoder.writeLen(last - first + 1)
    encoder.writeClient(client)
    encoder.writeLen(from)
    const head = structs[first] as Y.Item | Y.GC
    head.write(encoder, from - head.id.clock)
    for (let i = first + 1; i <= last; i++) (structs[i] as Y.Item | Y.GC).write(encoder, 0)
  }
  const ds = Y.mergeDeleteSets([...deleteSets])
  const dsClients = [...ds.clients].sort((a, b) => b[0] - a[0])
  encoder.writeLen(dsClients.length)
  for (const [client, items] of dsClients) {
    encoder.resetDsCurVal()
    encoder.writeLen(client)
    encoder.writeLen(items.length)
    for (const item of items) {
      encoder.writeDsClock(item.clock)
      encoder.writeDsLen(item.len)
    }
  }
  return encoder.toUint8Array()
}

/** Index of the struct that holds `clock` (structs of one client are sorted and contiguous). */
function indexOf(structs: ReadonlyArray<Y.Item | Y.GC>, clock: number): number {
  let lo = 0
  let hi = structs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const s = structs[mid] as Y.Item | Y.GC
    if (clock < s.id.clock) hi = mid - 1
    else if (clock >= s.id.clock + s.length) lo = mid + 1
    else return mid
  }
  throw new RangeError(`no struct holds clock ${clock}`)
}
