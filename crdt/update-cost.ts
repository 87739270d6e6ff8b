/**
 * What applying a peer's update will cost, estimated against the current document before
 * anything is applied.
 *
 * Integrating an item is cheap except for its conflict scan (Item.integrate in yjs.mjs):
 * when its left item (origin) is no longer followed by its right origin, Yjs walks the items
 * after the origin, as long as each is a concurrent sibling (same origin) or descends from one
 * it walked, to find where the item goes; an item without origin in a map starts from the
 * leftmost item of its key's chain, walking there from the current value and back. So N
 * siblings of one origin cost up to N^2 steps, and an update can make Yjs integrate them in
 * its worst order: 60,000 concurrent items at one position took minutes. The estimate, an
 * upper bound of that walk that is linear to compute:
 *
 *   per group g of items of the update with the same origin (or, without origin, the same
 *   map key), with n items whose subtrees (the items of the update that descend from each
 *   through their origins) hold S items in all:
 *     doc(g)   the walk in the document, simulated with Yjs's rule and capped by the budget
 *              (for no origin: twice the key's chain to its leftmost item, then the walk back)
 *     cost(g)  n * doc(g) + (n - 1) * S, and without origin also n * (chain items outside
 *              those subtrees), which the walk to the leftmost item passes
 *   and per item of g: doc(g) + S (when n > 1) and the same outside term.
 *
 * A legitimate update has few siblings per origin (one per machine that wrote the key
 * concurrently), so its cost is near zero however large it is; a flood of siblings costs
 * quadratically and is refused as 'too-costly', as is one item whose own walk is over
 * `maxItemSteps` (it cannot be split across turns). Deleting is linear in the structs a
 * range covers, counted by binary search and cut into pieces so it can be spread as well.
 */
import * as Y from 'yjs'
import { SyncUpdateRejectedError } from './errors.js'
import type { DeleteRange } from './update-decoder.js'
import type { UpdatePlan } from './update-schema.js'

export interface CostLimits {
  /** Estimated conflict-scan steps of one update. */
  maxConflictSteps: number
  /** Estimated conflict-scan steps of one item (applied whole, in one turn). */
  maxItemSteps: number
  /** Structs that the deletions of one update walk over in the document. */
  maxDeleteSteps: number
}

export interface CostEstimate {
  conflictSteps: number
  deleteSteps: number
  /** Per entry of plan.order: 1 plus its estimated scan, the unit slices are cut by. */
  units: Float64Array
  /** The deletions, in pieces of at most DELETE_PIECE structs of the document each. */
  deletePieces: Array<{ range: DeleteRange; units: number }>
}

/** Document structs one delete piece covers at most. */
export const DELETE_PIECE = 4096

const STEP = 1024

interface Group {
  n: number
  subtrees: number
  /** A member: where the walk starts from. */
  first: number
  /** No origin: the chain's key in plan.chains. */
  chain: string | null
  /** The estimated walk of one of its items. */
  item?: number
}

const tooCostly = (message: string): SyncUpdateRejectedError => new SyncUpdateRejectedError('too-costly', message)

/**
 * Estimates `plan` against `doc`. Throws SyncUpdateRejectedError 'too-costly' as soon as a
 * bound of `limits` is passed (so the estimate itself costs at most about the budget).
 */
export function* estimateCost(doc: Y.Doc, plan: UpdatePlan, limits: CostLimits): Generator<void, CostEstimate> {
  const { order, originAt, originDoc, chainOf, chains } = plan
  const store = doc.store
  let tick = 0

  // Subtree sizes through origins: an item's origin comes before it in `order`.
  const subtree = new Float64Array(order.length).fill(1)
  for (let p = order.length - 1; p >= 0; p--) {
    const o = originAt[p] as number
    if (o >= 0) subtree[o] = (subtree[o] as number) + (subtree[p] as number)
    if (++tick % STEP === 0) yield
  }

  const groups: Group[] = []
  const withoutOrigin = new Map<string, Group>()
  const byOrigin = new Map<number, Map<number, Group>>()
  const groupOf: Array<Group | null> = new Array(order.length).fill(null)
  for (let p = 0; p < order.length; p++) {
    const s = order[p] as Y.Item | Y.GC
    const chain = chainOf[p] as string | null
    if (chain === null || !(s instanceof Y.Item)) continue
    let g: Group | undefined
    if (s.origin === null) {
      g = withoutOrigin.get(chain)
      if (g === undefined) withoutOrigin.set(chain, (g = { n: 0, subtrees: 0, first: p, chain }))
    } else {
      let clocks = byOrigin.get(s.origin.client)
      if (clocks === undefined) byOrigin.set(s.origin.client, (clocks = new Map()))
      g = clocks.get(s.origin.clock)
      if (g === undefined) clocks.set(s.origin.clock, (g = { n: 0, subtrees: 0, first: p, chain: null }))
    }
    if (g.n === 0) groups.push(g)
    g.n++
    g.subtrees += subtree[p] as number
    groupOf[p] = g
    if (++tick % STEP === 0) yield
  }

  let conflictSteps = 0
  for (const g of groups) {
    // The document part of the walk, stopped once it alone would pass the budget.
    const cap = Math.min(limits.maxItemSteps, Math.floor((limits.maxConflictSteps - conflictSteps) / g.n)) + 1
    const first = order[g.first] as Y.Item
    let inDoc = 0
    if (g.chain === null) {
      const left = originDoc[g.first] ?? null
      if (left instanceof Y.Item) inDoc = walkAfterOrigin(store, left, first.origin as Y.ID, cap)
    } else {
      const chain = chains.get(g.chain)
      if (chain !== undefined && chain.type !== null) inDoc = walkKeyChain(store, chain.type, chain.key, cap)
    }
    const outside = g.chain === null ? 0 : Math.max(0, (chains.get(g.chain)?.count ?? 0) - g.subtrees)
    const siblings = g.n > 1 ? g.subtrees : 0
    const item = inDoc + siblings + outside
    conflictSteps += g.n * (inDoc + outside) + (g.n - 1) * g.subtrees
    if (item > limits.maxItemSteps) throw tooCostly(`one item would walk about ${item} items to find its place (at most ${limits.maxItemSteps})`)
    if (conflictSteps > limits.maxConflictSteps) {
      throw tooCostly(`resolving its concurrent inserts would take at least ${conflictSteps} steps (at most ${limits.maxConflictSteps}): ${g.n} items share one origin`)
    }
    g.item = item
    if (++tick % STEP === 0) yield
  }

  const units = new Float64Array(order.length).fill(1)
  for (let p = 0; p < order.length; p++) {
    const g = groupOf[p]
    if (g !== null && g !== undefined) units[p] = 1 + (g.item ?? 0)
  }

  let deleteSteps = 0
  const deletePieces: CostEstimate['deletePieces'] = []
  for (const d of plan.deletes) {
    const structs = store.clients.get(d.client)
    const held = Y.getState(store, d.client)
    const docEnd = Math.min(d.clock + d.len, held)
    if (structs === undefined || d.clock >= docEnd) {
      // Only structs of the update: one piece, as many as it adds at most.
      deletePieces.push({ range: d, units: 1 })
      deleteSteps += 1
    } else {
      const from = Y.findIndexSS(structs, d.clock)
      const to = Y.findIndexSS(structs, docEnd - 1)
      deleteSteps += to - from + 1
      if (deleteSteps > limits.maxDeleteSteps) throw tooCostly(`its deletions walk more than ${limits.maxDeleteSteps} structs`)
      for (let i = from; i <= to; i += DELETE_PIECE) {
        const start = i === from ? d.clock : (structs[i] as Y.Item | Y.GC).id.clock
        const last = i + DELETE_PIECE > to
        const end = last ? d.clock + d.len : (structs[i + DELETE_PIECE] as Y.Item | Y.GC).id.clock
        deletePieces.push({ range: { client: d.client, clock: start, len: end - start }, units: Math.min(DELETE_PIECE, to - i + 1) })
      }
    }
    if (deleteSteps > limits.maxDeleteSteps) throw tooCostly(`its deletions walk more than ${limits.maxDeleteSteps} structs`)
    if (++tick % STEP === 0) yield
  }
  return { conflictSteps, deleteSteps, units, deletePieces }
}

/**
 * How far Yjs's conflict scan can go past `left` for an item whose origin is `origin`:
 * concurrent siblings (the same origin) and whatever descends from the items walked. Client
 * ids, which end a real scan earlier, are ignored: an upper bound. At most `cap` steps.
 */
function walkAfterOrigin(store: Y.Doc['store'], left: Y.Item, origin: Y.ID, cap: number): number {
  const walked = new Set<Y.Item | Y.GC>()
  let steps = 0
  // An origin inside `left`: Yjs splits it there, and the rest is a sibling of the new item.
  if (origin.clock < left.id.clock + left.length - 1) {
    walked.add(left)
    steps++
  }
  for (let o = left.right; o !== null && steps < cap; o = o.right) {
    const oo = o.origin
    if (oo === null || !((oo.client === origin.client && oo.clock === origin.clock) || walked.has(Y.getItem(store, oo)))) break
    walked.add(o)
    steps++
  }
  return steps
}

/** For an item without origin in a key's chain: to the leftmost item and back, then the scan. */
function walkKeyChain(store: Y.Doc['store'], type: Y.AbstractType<unknown>, key: string, cap: number): number {
  let o = type._map.get(key) ?? null
  if (o === null) return 0
  let toLeftmost = 0
  while (o.left !== null && toLeftmost < cap) {
    o = o.left
    toLeftmost++
  }
  const walked = new Set<Y.Item | Y.GC>()
  let steps = 2 * toLeftmost
  for (let x: Y.Item | null = o; x !== null && steps < cap; x = x.right) {
    const xo = x.origin
    if (xo !== null && !walked.has(Y.getItem(store, xo))) break
    walked.add(x)
    steps++
  }
  return steps
}
