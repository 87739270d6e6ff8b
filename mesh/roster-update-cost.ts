/**
 * What applying a peer's roster update to an empty scratch document will cost, bounded before
 * it is applied: a roster frame (up to MAX_ROSTER_FRAME) from any participant, and the roster
 * of a welcome, are applied whole, in one turn of the event loop (roster-genesis.ts).
 *
 * Integrating an item is cheap except for Yjs's conflict scan (Item.integrate in yjs.mjs),
 * which walks the items of the item's map key that are its concurrent siblings (the same
 * origin) or descend from one it walked; an item without origin first walks its key's chain
 * to the leftmost item. So N siblings of one origin cost up to N^2 steps, and a self-contained
 * update of 6,000 of them (150 KB) held the event loop for seconds; 1 MiB of them, minutes.
 * The bound, linear to compute: every item resolves (through its origin, or right origin) to
 * the map key it joins; a group of n items with one origin (n >= 2), or without origin in one
 * key, costs at most n times the items of that key; plus one step per struct. A roster as
 * members write it has one item without origin per key and no siblings but from a concurrent
 * write, so it costs about twice its structs however long it grows.
 *
 * An item that refers to a struct the update does not carry is left pending by Yjs, which
 * costs nothing; roster-genesis.ts refuses it afterwards.
 */
import * as Y from 'yjs'

/**
 * Estimated steps past which a roster update is refused: about 50 ms of Yjs work at worst. A
 * legitimate roster frame costs about two steps per struct, so even one at MAX_ROSTER_FRAME
 * (some 90,000 structs) stays under it.
 */
export const MAX_ROSTER_UPDATE_STEPS = 250_000

const idKey = (id: Y.ID): string => `${id.client}:${id.clock}`

/** The estimated steps of applying `update` to an empty document; throws what Y.decodeUpdate throws on malformed bytes. */
export function rosterUpdateSteps(update: Uint8Array): number {
  const items = Y.decodeUpdate(update).structs.filter((s): s is Y.Item => s instanceof Y.Item)
  // Per client, the items by clock, to find the item an origin points into.
  const byClient = new Map<number, Y.Item[]>()
  for (const item of items) {
    let list = byClient.get(item.id.client)
    if (list === undefined) byClient.set(item.id.client, (list = []))
    list.push(item)
  }
  for (const list of byClient.values()) list.sort((a, b) => a.id.clock - b.id.clock)
  const find = (id: Y.ID): Y.Item | undefined => {
    const list = byClient.get(id.client)
    if (list === undefined) return undefined
    let lo = 0
    let hi = list.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const item = list[mid] as Y.Item
      if (id.clock < item.id.clock) hi = mid - 1
      else if (id.clock >= item.id.clock + item.length) lo = mid + 1
      else return item
    }
    return undefined
  }

  // The map key each item joins, resolved without recursion (an origin chain may be long)
  // and without looping (a hostile update may make origins point in a circle).
  const keyOf = new Map<Y.Item, string>()
  const MISSING = '\u0000missing'
  const resolve = (start: Y.Item): string => {
    const path: Y.Item[] = []
    const onPath = new Set<Y.Item>()
    let item: Y.Item | undefined = start
    let key: string | undefined
    while (item !== undefined) {
      const known = keyOf.get(item)
      if (known !== undefined) {
        key = known
        break
      }
      if (onPath.has(item)) {
        key = MISSING
        break
      }
      path.push(item)
      onPath.add(item)
      const ref: Y.ID | null = item.origin ?? item.rightOrigin
      if (ref === null) {
        const parent = item.parent as unknown
        key = `${typeof parent === 'string' ? `root:${parent}` : parent instanceof Y.ID ? `type:${idKey(parent)}` : 'none'}\u0000${item.parentSub ?? ''}`
        break
      }
      item = find(ref)
      if (item === undefined) key = MISSING
    }
    for (const p of path) keyOf.set(p, key ?? MISSING)
    return key ?? MISSING
  }

  const chain = new Map<string, number>()
  const groups = new Map<string, { key: string; n: number; siblings: boolean }>()
  for (const item of items) {
    const key = resolve(item)
    chain.set(key, (chain.get(key) ?? 0) + 1)
    const group = item.origin !== null ? `o:${idKey(item.origin)}` : `n:${key}`
    const g = groups.get(group) ?? { key, n: 0, siblings: item.origin !== null }
    g.n++
    groups.set(group, g)
  }
  let steps = items.length
  for (const g of groups.values()) {
    if (g.key === MISSING || (g.siblings && g.n < 2)) continue
    steps += g.n * (chain.get(g.key) ?? 0)
  }
  return steps
}
