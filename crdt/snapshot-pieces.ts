/**
 * A document's state as pieces that apply one after the other: what compaction stores as a
 * snapshot, so that a load applies a large document a piece per turn of the event loop rather
 * than in one Y.applyUpdate that holds the loop for most of a second at 100,000 entries.
 *
 * Together the pieces are Y.encodeStateAsUpdate(doc): every struct of the document once, in
 * clock order per client, and the delete set in the last piece. The structs are put in an order
 * in which each comes after everything it depends on (the struct before it of the same client,
 * its origin, its right origin and the item of the type it is in), so every piece applies in
 * full on the pieces before it and Yjs never parks part of one to wait for a later piece.
 */
import * as Y from 'yjs'
import { encodeSlice, type DeleteRange } from './update-decoder.js'

/** Structs in one piece; a piece of small map entries is then a few hundred KB and about 10 ms to apply. */
export const SNAPSHOT_PIECE_STRUCTS = 2000

type Struct = Y.Item | Y.GC

/** Thrown when the structs cannot be ordered (a dependency cycle no Yjs document has). */
export class SnapshotOrderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SnapshotOrderError'
  }
}

/** The document's state as pieces of at most `maxStructs` structs; at least one piece. */
export function encodeSnapshotPieces(doc: Y.Doc, maxStructs = SNAPSHOT_PIECE_STRUCTS): Uint8Array[] {
  const order = dependencyOrder(doc.store.clients as Map<number, Struct[]>)
  const deletes: DeleteRange[] = []
  for (const [client, items] of Y.createDeleteSetFromStructStore(doc.store).clients) {
    for (const d of items) deletes.push({ client, clock: d.clock, len: d.len })
  }
  const pieces: Uint8Array[] = []
  for (let i = 0; i < order.length; i += maxStructs) {
    const last = i + maxStructs >= order.length
    pieces.push(encodeSlice(order.slice(i, i + maxStructs), last ? deletes : []))
  }
  if (pieces.length === 0) pieces.push(encodeSlice([], deletes))
  return pieces
}

/**
 * Every struct, each after its dependencies. A depth-first walk with a cursor per client: the
 * next struct of a client is emitted once what it needs is, and what it needs is always a
 * prefix of some client's structs, so the walk asks that client for its next struct first.
 */
function dependencyOrder(clients: Map<number, Struct[]>): Struct[] {
  const cursor = new Map<number, number>()
  for (const client of clients.keys()) cursor.set(client, 0)
  /** Clock up to which `client`'s structs are emitted. */
  const emittedTo = (client: number): number => {
    const list = clients.get(client)
    if (list === undefined) return Number.POSITIVE_INFINITY // not in the document: nothing to wait for
    const next = list[cursor.get(client) as number]
    return next === undefined ? Number.POSITIVE_INFINITY : next.id.clock
  }
  /** The client whose next struct must come before `s`, or undefined when nothing is missing. */
  const waitsOn = (s: Struct): number | undefined => {
    if (!(s instanceof Y.Item)) return undefined
    const needs = [s.origin, s.rightOrigin, parentItemId(s)]
    for (const id of needs) if (id !== null && emittedTo(id.client) <= id.clock) return id.client
    return undefined
  }

  const order: Struct[] = []
  const onStack = new Set<number>()
  for (const [root, list] of clients) {
    while ((cursor.get(root) as number) < list.length) {
      const stack = [root]
      onStack.add(root)
      while (stack.length > 0) {
        const client = stack.at(-1) as number
        const structs = clients.get(client) as Struct[]
        const at = cursor.get(client) as number
        const s = structs[at]
        if (s === undefined) {
          stack.pop()
          onStack.delete(client)
          continue
        }
        const dep = waitsOn(s)
        if (dep !== undefined) {
          if (onStack.has(dep)) throw new SnapshotOrderError(`struct ${client}:${s.id.clock} waits on a client already waiting for it`)
          stack.push(dep)
          onStack.add(dep)
          continue
        }
        order.push(s)
        cursor.set(client, at + 1)
        stack.pop()
        onStack.delete(client)
      }
    }
  }
  return order
}

/** The id of the item that holds the type `item` is in (null for a root type). */
function parentItemId(item: Y.Item): Y.ID | null {
  const parent = item.parent as unknown
  if (parent instanceof Y.AbstractType) return parent._item === null ? null : parent._item.id
  return parent instanceof Y.ID ? parent : null
}
