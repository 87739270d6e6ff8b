/**
 * Costly Yjs updates as a hostile (or buggy) member crafts them, with real Yjs items: for
 * the hostile-update bench and tests/hostile/update-cost.test.ts.
 *
 * concurrentInserts: `count` concurrent inserts at one position, right after `origin` (an
 * item of the victim's document), each from its own client id. Each client also writes one
 * item after the previous client's insert, which makes Yjs integrate the inserts in
 * ascending client order, its worst: every insert scans all the earlier ones, so applying
 * them costs count^2 steps (60,000 of them on top of a real document blocked a node for
 * minutes). With `text` content the schema refuses them; with plain values they are entries
 * of the map key `origin` belongs to (an item with an origin inherits its parent and key),
 * a shape the schema allows, and only the cost estimate stops them.
 *
 * keyFlood: `count` concurrent sets of one key of a root map, none with an origin: each
 * walks the key's whole chain to its leftmost item and back.
 */
import * as Y from 'yjs'

/** First client id of the crafted items, far from the random ids of real documents' small ones. */
const FIRST_CLIENT = 3_000_000_000

export function concurrentInserts(origin: Y.ID, count: number, content: 'text' | 'value'): Uint8Array {
  const make = (): Y.Item['content'] => (content === 'text' ? new Y.ContentString('x') : new Y.ContentAny(['x']))
  const clients = new Map<number, Y.Item[]>()
  for (let i = 0; i < count; i++) {
    const client = FIRST_CLIENT + i
    const items: Y.Item[] = []
    if (i > 0) {
      // After the previous client's insert (its clock 1, or 0 for the first client).
      const previous = Y.createID(client - 1, i - 1 > 0 ? 1 : 0)
      items.push(new Y.Item(Y.createID(client, 0), null, previous, null, null, null, null, make()))
    }
    items.push(new Y.Item(Y.createID(client, items.length), null, origin, null, null, null, null, make()))
    clients.set(client, items)
  }
  return encode(clients)
}

export function keyFlood(root: string, key: string, count: number): Uint8Array {
  const clients = new Map<number, Y.Item[]>()
  for (let i = 0; i < count; i++) {
    const client = FIRST_CLIENT + i
    clients.set(client, [new Y.Item(Y.createID(client, 0), null, null, null, null, root as never, key, new Y.ContentAny([{ flood: i }]))])
  }
  return encode(clients)
}

/** The item that holds `key` of root map `root` in `doc`: the origin the inserts go after. */
export function itemOf(doc: Y.Doc, root: string, key: string): Y.ID {
  const item = doc.getMap(root)._map.get(key)
  if (item === undefined) throw new Error(`no key ${key} in ${root}`)
  return item.id
}

function encode(clients: Map<number, Y.Item[]>): Uint8Array {
  const encoder = new Y.UpdateEncoderV1()
  encoder.writeLen(clients.size)
  for (const [client, items] of clients) {
    encoder.writeLen(items.length)
    encoder.writeClient(client)
    encoder.writeLen(0)
    for (const item of items) item.write(encoder, 0)
  }
  encoder.writeLen(0)
  return encoder.toUint8Array()
}

/**
 * One self-contained update for root map `root`: an item under `key` and `count` concurrent
 * inserts right after it, in Yjs's worst order (as concurrentInserts), with byte values. It
 * needs nothing of the receiver's document, so it costs count^2 steps even on an empty one
 * (the roster applies a peer's update to a scratch document).
 */
export function selfContainedInserts(root: string, key: string, count: number): Uint8Array {
  const base = FIRST_CLIENT - 1
  const origin = Y.createID(base, 0)
  const clients = new Map<number, Y.Item[]>([[base, [new Y.Item(origin, null, null, null, null, root as never, key, new Y.ContentBinary(new Uint8Array([1])))]]])
  for (let i = 0; i < count; i++) {
    const client = FIRST_CLIENT + i
    const items: Y.Item[] = []
    if (i > 0) items.push(new Y.Item(Y.createID(client, 0), null, Y.createID(client - 1, i - 1 > 0 ? 1 : 0), null, null, null, null, new Y.ContentBinary(new Uint8Array([2]))))
    items.push(new Y.Item(Y.createID(client, items.length), null, origin, null, null, null, null, new Y.ContentBinary(new Uint8Array([3]))))
    clients.set(client, items)
  }
  return encode(clients)
}
