/**
 * What a peer's update may hold, and the check of one against the document it is for.
 *
 * Every document is a set of named root maps (a model's layout); each key of a root holds
 * either one plain value (JSON: null, booleans, finite numbers, strings, arrays, objects) or
 * a record, a nested Y.Map whose keys are a fixed list of fields, each one plain value. Each
 * model exports its DocumentSchema next to its layout comment. Anything else is refused as
 * 'schema': a root the schema does not name, an insert into a root's sequence (a map entry
 * always has a key), a map entry with a right origin (Y.Map never writes one), a nested type
 * where the schema has a plain value or deeper than a record, a field a record does not
 * have, a key or value over its bound, a value that is not plain JSON.
 *
 * An item that has an origin (or right origin) does not carry its parent: Yjs gives it the
 * parent and key of its left item (getMissing in yjs.mjs). So the check resolves every item's
 * parent the way Yjs will, through its origin, in the update itself or in the document,
 * which is why it runs against the current document and not a scratch one. An item whose
 * left or right item is garbage-collected becomes a GC struct; so does one whose parent item
 * holds no type (a deleted record): those are not checked, as nothing of them is kept.
 *
 * Yjs parks an update that needs structs it does not have (store.pendingStructs,
 * pendingDs) and integrates it later, unchecked, when they arrive. Here such an update is
 * refused as 'missing-dependency', which says nothing against the sender: a struct past a gap
 * in its client's clocks, an origin, right origin or parent no one holds, a deletion of
 * structs no one holds. The sync engine's next step 1/2 exchange fills the gap.
 *
 * The plan is linear in the update (with a binary search per reference), and a generator
 * that yields every STEP structs so a driver can spread it over turns of the event loop.
 */
import * as Y from 'yjs'
import { SyncUpdateRejectedError } from './errors.js'
import type { DecodedUpdate, DeleteRange, Struct } from './update-decoder.js'

/** A key holds one plain JSON value of at most `maxSize` (see plainSize). */
export interface PlainValueSchema {
  kind: 'plain'
  maxSize: number
}

/** A key holds a Y.Map whose keys are `fields`, each one plain JSON value of at most `maxSize`. */
export interface RecordValueSchema {
  kind: 'record'
  fields: readonly string[]
  maxSize: number
}

export interface MapRootSchema {
  /** Longest key, in UTF-16 code units. */
  maxKeyLength: number
  value: PlainValueSchema | RecordValueSchema
}

/** The root maps of a document, by name (`doc.getMap(name)`). */
export interface DocumentSchema {
  readonly roots: Readonly<Record<string, MapRootSchema>>
}

/** A document that holds nothing yet: every update that adds a struct is refused. */
export const EMPTY_SCHEMA: DocumentSchema = Object.freeze({ roots: Object.freeze({}) })

/** Where an item lands: the map chain (parent and key) it joins, or nowhere (it becomes GC). */
export interface Chain {
  /** The map, when the document has it; null when this update creates it (a new record). */
  type: Y.AbstractType<unknown> | null
  key: string
  /** Items of the update that join this chain. */
  count: number
}

export interface UpdatePlan {
  /** The structs to apply (those the document lacks), each after every struct it depends on. */
  order: Array<Y.Item | Y.GC>
  /** Per entry of `order`: the position in `order` of the struct its origin lies in, or -1. */
  originAt: Int32Array
  /** Per entry: the document struct its origin lies in, or null (none, or in the update). */
  originDoc: Array<Y.Item | Y.GC | null>
  /** Per entry: the key of its chain in `chains`, or null when it becomes GC. */
  chainOf: Array<string | null>
  chains: Map<string, Chain>
  /** The update's deletions, every one of structs the document or the update holds. */
  deletes: DeleteRange[]
  /** Nothing to apply: every struct is already held and nothing is deleted. */
  known: boolean
}

const STEP = 1024
/** Deepest nesting of arrays and objects in a plain value. */
const MAX_DEPTH = 32

interface Resolved {
  /** 0: becomes GC; 1: entry of a root map; 2: field of a record. */
  kind: 0 | 1 | 2
  root: string
  chain: string
}

const GC_RESOLVED: Resolved = { kind: 0, root: '', chain: '' }

const schemaError = (message: string): SyncUpdateRejectedError => new SyncUpdateRejectedError('schema', message)
const missing = (message: string): SyncUpdateRejectedError => new SyncUpdateRejectedError('missing-dependency', message)
const malformed = (message: string): SyncUpdateRejectedError => new SyncUpdateRejectedError('malformed', message)
/** A name from the wire, safe to put in a message: quoted, escaped, cut. */
const quote = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)

/**
 * Checks `decoded` against `doc` and `schema` and returns the order to apply it in. Throws
 * SyncUpdateRejectedError: 'schema', 'missing-dependency', 'malformed' (a struct that names
 * its own client's later clocks, a dependency cycle, a struct of this machine's client id).
 */
export function* planUpdate(doc: Y.Doc, decoded: DecodedUpdate, schema: DocumentSchema): Generator<void, UpdatePlan> {
  const store = doc.store
  const state = (client: number): number => Y.getState(store, client)
  let tick = 0

  // 1. The structs the document lacks, per client from its state on, with no gap.
  const order: Array<Y.Item | Y.GC> = []
  const nodes: Array<Y.Item | Y.GC> = []
  const perClient = new Map<number, { structs: Struct[]; node: Int32Array }>()
  const reach = new Map<number, number>()
  for (const [client, structs] of decoded.clients) {
    const held = state(client)
    let upTo = held
    const node = new Int32Array(structs.length).fill(-1)
    for (let i = 0; i < structs.length; i++) {
      const s = structs[i] as Struct
      if (s instanceof Y.Skip || s.id.clock + s.length <= held) continue
      if (s.id.clock > upTo) throw missing(`client ${client} continues at clock ${s.id.clock}; this document holds it up to ${upTo}`)
      if (client === doc.clientID) throw malformed("the update adds structs under this machine's own client id")
      node[i] = nodes.length
      nodes.push(s)
      upTo = s.id.clock + s.length
      if (++tick % STEP === 0) yield
    }
    perClient.set(client, { structs, node })
    reach.set(client, upTo)
  }

  /** Node index of the update struct holding `id`, or -1. */
  const nodeAt = (id: Y.ID): number => {
    const entry = perClient.get(id.client)
    if (entry === undefined) return -1
    const { structs, node } = entry
    let lo = 0
    let hi = structs.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const s = structs[mid] as Struct
      if (id.clock < s.id.clock) hi = mid - 1
      else if (id.clock >= s.id.clock + s.length) lo = mid + 1
      else return node[mid] as number
    }
    return -1
  }

  // 2. Dependencies (same-client predecessor, origin, right origin, parent item), then an
  // order that puts each struct after them; a cycle is refused.
  const deps = new Int32Array(nodes.length * 4).fill(-1)
  const reference = (n: number, s: Y.Item | Y.GC, id: Y.ID, what: string): number => {
    if (id.client === s.id.client && id.clock >= s.id.clock) throw malformed(`a struct's ${what} is not before it in its own client's clocks`)
    if (id.clock < state(id.client)) return -1
    const k = nodeAt(id)
    if (k < 0) throw missing(`a struct's ${what} (client ${id.client}, clock ${id.clock}) is in neither this document nor the update`)
    return k === n ? -1 : k
  }
  for (let n = 0; n < nodes.length; n++) {
    const s = nodes[n] as Y.Item | Y.GC
    const prev = nodes[n - 1]
    if (prev !== undefined && prev.id.client === s.id.client) deps[n * 4] = n - 1
    if (s instanceof Y.Item) {
      if (s.origin !== null) deps[n * 4 + 1] = reference(n, s, s.origin, 'origin')
      if (s.rightOrigin !== null) deps[n * 4 + 2] = reference(n, s, s.rightOrigin, 'right origin')
      if (s.parent instanceof Y.ID) deps[n * 4 + 3] = reference(n, s, s.parent, 'parent')
    }
    if (++tick % STEP === 0) yield
  }
  const position = new Int32Array(nodes.length).fill(-1)
  const mark = new Uint8Array(nodes.length) // 0 unseen, 1 on the stack, 2 placed
  const stack: number[] = []
  for (let start = 0; start < nodes.length; start++) {
    if (mark[start] !== 0) continue
    stack.push(start, 0)
    mark[start] = 1
    while (stack.length > 0) {
      const n = stack[stack.length - 2] as number
      const d = stack[stack.length - 1] as number
      if (d === 4) {
        stack.length -= 2
        mark[n] = 2
        position[n] = order.length
        order.push(nodes[n] as Y.Item | Y.GC)
        if (++tick % STEP === 0) yield
        continue
      }
      stack[stack.length - 1] = d + 1
      const k = deps[n * 4 + d] as number
      if (k < 0 || mark[k] === 2) continue
      if (mark[k] === 1) throw malformed('the structs of the update depend on each other in a cycle')
      mark[k] = 1
      stack.push(k, 0)
    }
  }

  // 3. Each item's parent and key, resolved as Yjs will, and checked against the schema.
  const rootNames = new Map<unknown, string>()
  for (const [name, type] of doc.share) rootNames.set(type, name)
  const resolved: Resolved[] = new Array(order.length)
  const originAt = new Int32Array(order.length).fill(-1)
  const originDoc: Array<Y.Item | Y.GC | null> = new Array(order.length).fill(null)
  const chainOf: Array<string | null> = new Array(order.length).fill(null)
  const chains = new Map<string, Chain>()

  type Ref = { doc: Y.Item | Y.GC } | { at: number }
  const where = (id: Y.ID): Ref => {
    if (id.clock < state(id.client)) return { doc: Y.getItem(store, id) as Y.Item | Y.GC }
    return { at: position[nodeAt(id)] as number }
  }
  const isGc = (ref: Ref): boolean => ('doc' in ref ? ref.doc instanceof Y.GC : (resolved[ref.at] as Resolved).kind === 0)
  const chainKey = (container: string, key: string): string => `${container}\u0000${key}`
  const addChain = (p: number, chain: string, type: Y.AbstractType<unknown> | null, key: string): void => {
    chainOf[p] = chain
    const c = chains.get(chain)
    if (c === undefined) chains.set(chain, { type, key, count: 1 })
    else c.count++
  }
  /** Where a document item sits: its chain, and whether in a root map or a record. */
  const placeOfDocItem = (item: Y.Item): Resolved & { type: Y.AbstractType<unknown>; key: string | null } => {
    const parent = item.parent as Y.AbstractType<unknown>
    const key = item.parentSub
    if (parent._item === null) {
      const root = rootNames.get(parent)
      if (root === undefined) throw schemaError('an item joins a root this document does not name')
      return { kind: 1, root, chain: chainKey(`r${root}`, key ?? ''), type: parent, key }
    }
    const holder = parent._item
    const grand = holder.parent as Y.AbstractType<unknown>
    const root = grand._item === null ? rootNames.get(grand) : undefined
    if (root === undefined) throw schemaError('an item joins a type nested deeper than a record')
    return { kind: 2, root, chain: chainKey(`i${holder.id.client}:${holder.id.clock}`, key ?? ''), type: parent, key }
  }

  for (let p = 0; p < order.length; p++) {
    if (++tick % STEP === 0) yield
    const s = order[p] as Y.Item | Y.GC
    if (!(s instanceof Y.Item)) {
      resolved[p] = GC_RESOLVED
      continue
    }
    const left = s.origin === null ? null : where(s.origin)
    const right = s.rightOrigin === null ? null : where(s.rightOrigin)
    if (left !== null) {
      if ('doc' in left) originDoc[p] = left.doc
      else originAt[p] = left.at
    }
    if ((left !== null && isGc(left)) || (right !== null && isGc(right))) {
      resolved[p] = GC_RESOLVED
      continue
    }
    let place: Resolved
    let type: Y.AbstractType<unknown> | null = null
    let key: string | null
    const from = left ?? right
    if (from !== null) {
      if ('doc' in from) {
        const docPlace = placeOfDocItem(from.doc as Y.Item)
        place = docPlace
        type = docPlace.type
        key = docPlace.key
      } else {
        place = resolved[from.at] as Resolved
        const chain = chains.get(place.chain) as Chain
        type = chain.type
        key = chain.key
      }
      if (place.kind !== 0 && key === null) throw schemaError('an insert into the sequence of a map (a map entry always has a key)')
    } else if (typeof s.parent === 'string') {
      key = s.parentSub
      if (key === null) throw schemaError(`an insert into the sequence of root ${quote(s.parent)} (a map entry always has a key)`)
      type = (doc.share.get(s.parent) as Y.AbstractType<unknown> | undefined) ?? null
      place = { kind: 1, root: s.parent, chain: chainKey(`r${s.parent}`, key) }
    } else {
      key = s.parentSub
      const holder = where(s.parent as Y.ID)
      place = GC_RESOLVED
      if ('doc' in holder) {
        if (holder.doc instanceof Y.Item && holder.doc.content instanceof Y.ContentType) {
          const inner = holder.doc.content.type as Y.AbstractType<unknown>
          const outer = placeOfDocItem(holder.doc)
          if (outer.kind !== 1) throw schemaError('an item joins a type nested deeper than a record')
          type = inner
          place = { kind: 2, root: outer.root, chain: chainKey(`i${holder.doc.id.client}:${holder.doc.id.clock}`, key ?? '') }
        }
      } else {
        const outer = resolved[holder.at] as Resolved
        const holderItem = order[holder.at] as Y.Item | Y.GC
        if (outer.kind !== 0 && holderItem instanceof Y.Item && holderItem.content instanceof Y.ContentType) {
          if (outer.kind !== 1) throw schemaError('an item joins a type nested deeper than a record')
          place = { kind: 2, root: outer.root, chain: chainKey(`i${holderItem.id.client}:${holderItem.id.clock}`, key ?? '') }
        }
      }
      if (place.kind !== 0 && key === null) throw schemaError('an insert into the sequence of a record (a record holds keyed fields)')
    }
    resolved[p] = place
    if (place.kind === 0) continue
    checkItem(s, place, key as string, schema)
    addChain(p, place.chain, type, key as string)
  }

  // 4. Deletions only of what the document or the update holds.
  for (const d of decoded.deletes) {
    if (++tick % STEP === 0) yield
    const upTo = reach.get(d.client) ?? state(d.client)
    if (d.clock + d.len > upTo) throw missing(`a deletion of client ${d.client} up to clock ${d.clock + d.len}; this document holds it up to ${upTo}`)
  }

  return { order, originAt, originDoc, chainOf, chains, deletes: decoded.deletes, known: order.length === 0 && decoded.deletes.length === 0 }
}

function checkItem(item: Y.Item, place: Resolved, key: string, schema: DocumentSchema): void {
  const root = Object.hasOwn(schema.roots, place.root) ? schema.roots[place.root] : undefined
  if (root === undefined) throw schemaError(`root ${quote(place.root)} is not in this document's schema`)
  if (item.rightOrigin !== null) throw schemaError(`an entry of ${quote(place.root)} with a right origin (Y.Map never writes one)`)
  const content = item.content
  if (content instanceof Y.ContentDeleted) return
  if (place.kind === 1) {
    if (key.length > root.maxKeyLength) throw schemaError(`a key of ${quote(place.root)} is longer than ${root.maxKeyLength}`)
    if (root.value.kind === 'record') {
      if (!(content instanceof Y.ContentType)) throw schemaError(`an entry of ${quote(place.root)} that is not a record`)
      return
    }
    if (content instanceof Y.ContentType) throw schemaError(`a nested map in ${quote(place.root)}, whose entries are plain values`)
    checkValue(content, root.value.maxSize, `an entry of ${quote(place.root)}`)
    return
  }
  if (root.value.kind !== 'record') throw schemaError(`a nested map in ${quote(place.root)}, whose entries are plain values`)
  if (!root.value.fields.includes(key)) throw schemaError(`a record of ${quote(place.root)} with a field ${quote(key)} it does not have`)
  if (content instanceof Y.ContentType) throw schemaError(`a map nested in a record of ${quote(place.root)}`)
  checkValue(content, root.value.maxSize, `field ${quote(key)} of a record of ${quote(place.root)}`)
}

function checkValue(content: Y.Item['content'], maxSize: number, what: string): void {
  const value: unknown = content instanceof Y.ContentAny ? content.arr[0] : content instanceof Y.ContentJSON ? content.arr[0] : undefined
  const size = plainSize(value, maxSize)
  if (size === -1) throw schemaError(`${what} that is not a plain JSON value`)
  if (size > maxSize) throw schemaError(`${what} larger than ${maxSize}`)
}

/**
 * The size of a plain JSON value: UTF-16 code units of its strings and keys, plus one per
 * number, boolean, null and per array or object; -1 if it is not plain (undefined, a
 * non-finite number, a bigint, binary, nested deeper than MAX_DEPTH). Stops counting once
 * past `limit` (the result is then some number above it).
 */
export function plainSize(value: unknown, limit: number): number {
  if (typeof value === 'string') return value.length
  let size = 0
  const values: unknown[] = [value]
  const depths: number[] = [0]
  while (values.length > 0) {
    const v = values.pop()
    const depth = depths.pop() as number
    if (size > limit) return size
    if (typeof v === 'string') size += v.length
    else if (v === null || typeof v === 'boolean') size += 1
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return -1
      size += 1
    } else if (Array.isArray(v)) {
      if (depth >= MAX_DEPTH) return -1
      size += 1
      for (const x of v) {
        values.push(x)
        depths.push(depth + 1)
      }
    } else if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      if (depth >= MAX_DEPTH) return -1
      size += 1
      for (const k in v as Record<string, unknown>) {
        size += k.length
        values.push((v as Record<string, unknown>)[k])
        depths.push(depth + 1)
      }
    } else return -1
  }
  return size
}
