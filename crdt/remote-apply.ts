/**
 * Applies a peer's update to a document without ever holding the event loop for long:
 * read it (update-decoder.ts), check it against the document and its schema and order it
 * (update-schema.ts), estimate its cost (update-cost.ts), then apply it in slices, each a
 * Yjs transaction of its own, so heartbeats, the API and local writes run between them.
 *
 * Every stage is a generator that yields every thousand or so structs; the driver gives up
 * the turn (the `pause` port, a zero timer by default) once a turn has run `turnMs`, and
 * counts the time it worked. A slice is cut by estimated cost, and its size adapts to the
 * measured time of the last one so that one slice takes about `sliceMs`. Refusals before the
 * first slice leave the document as it was; an apply that runs past `maxApplyMs` of work
 * stops between two slices, keeps what it applied (a prefix in dependency order, so a state
 * the peer itself went through) and is refused as 'too-costly'.
 *
 * Each slice is a whole transaction: the document's update handler stores it and tells the
 * listeners about it like any other update, so the log and the listeners stay in step with the
 * document when a local write lands between two slices. A slice never needs what a later one
 * brings (the order puts every struct after its dependencies, and deletions come last), so Yjs
 * never parks part of one; if it ever did, what it parked is dropped and the update refused.
 */
import * as Y from 'yjs'
import type { Clock } from '../runtime/index.js'
import { DocumentsClosedError, SyncUpdateRejectedError } from './errors.js'
import { estimateCost, type CostLimits } from './update-cost.js'
import { encodeSlice, readUpdate, type DecodeLimits, type DeleteRange } from './update-decoder.js'
import { planUpdate, type DocumentSchema } from './update-schema.js'

export interface RemoteApplyOptions extends DecodeLimits, CostLimits {
  /** Largest update, in bytes. */
  maxBytes: number
  /** Work time one update may take, in ms, summed over its turns. */
  maxApplyMs: number
  /** Longest run before the driver gives up the turn, in ms. */
  turnMs: number
  /** Time one slice should take, in ms. */
  sliceMs: number
}

export const REMOTE_APPLY_DEFAULTS: RemoteApplyOptions = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxStructs: 2_000_000,
  maxDeleteRanges: 1_000_000,
  maxConflictSteps: 2_000_000,
  maxItemSteps: 100_000,
  maxDeleteSteps: 4_000_000,
  maxApplyMs: 120_000,
  turnMs: 20,
  sliceMs: 10,
})

export interface RemoteApplyDeps {
  clock: Clock
  /** Gives up the turn; default: a zero timer of `clock`. */
  pause?: () => Promise<void>
}

export interface RemoteApplyResult {
  /** Nothing applied: the document already held all of it. */
  known: boolean
  structs: number
  slices: number
  conflictSteps: number
  workMs: number
}

const MIN_SLICE_UNITS = 16
const MAX_SLICE_UNITS = 1 << 20
const FIRST_SLICE_UNITS = 1024

export interface RemoteApplier {
  /**
   * Applies `update` to `doc` under `origin`. Rejects with SyncUpdateRejectedError (reasons
   * 'malformed', 'over-limit', 'schema', 'missing-dependency', 'too-costly') or, when
   * `closed()` turns true between two turns, DocumentsClosedError.
   */
  apply(doc: Y.Doc, schema: DocumentSchema, update: Uint8Array, origin: unknown, closed: () => boolean): Promise<RemoteApplyResult>
}

export function createRemoteApplier(deps: RemoteApplyDeps, options: Partial<RemoteApplyOptions> = {}): RemoteApplier {
  const o: RemoteApplyOptions = { ...REMOTE_APPLY_DEFAULTS, ...options }
  const { clock } = deps
  const pause = deps.pause ?? (() => new Promise<void>((resolve) => void clock.setTimeout(resolve, 0)))

  return {
    async apply(doc, schema, update, origin, closed) {
      let turnStart = clock.now()
      let workMs = 0
      const over = (): SyncUpdateRejectedError =>
        new SyncUpdateRejectedError('too-costly', `applying it took more than ${o.maxApplyMs} ms of work; stopped between two slices`)
      const checkpoint = async (): Promise<void> => {
        const now = clock.now()
        if (now - turnStart < o.turnMs) return
        workMs += now - turnStart
        if (workMs > o.maxApplyMs) throw over()
        await pause()
        if (closed()) throw new DocumentsClosedError()
        turnStart = clock.now()
      }
      const run = async <T>(stage: Generator<void, T>): Promise<T> => {
        for (;;) {
          const step = stage.next()
          if (step.done === true) return step.value
          await checkpoint()
        }
      }

      if (update.length > o.maxBytes) throw new SyncUpdateRejectedError('over-limit', `the update is ${update.length} bytes (at most ${o.maxBytes})`)
      const decoded = await run(readUpdate(update, o))
      const plan = await run(planUpdate(doc, decoded, schema))
      const result: RemoteApplyResult = { known: plan.known, structs: plan.order.length, slices: 0, conflictSteps: 0, workMs: 0 }
      if (plan.known) return { ...result, workMs: workMs + clock.now() - turnStart }
      const cost = await run(estimateCost(doc, plan, o))
      result.conflictSteps = cost.conflictSteps

      let sliceUnits = FIRST_SLICE_UNITS
      const applySlice = (structs: Array<Y.Item | Y.GC>, deletes: DeleteRange[], units: number): void => {
        const t0 = clock.now()
        try {
          Y.applyUpdate(doc, encodeSlice(structs, deletes), origin)
        } catch (cause) {
          throw new SyncUpdateRejectedError('malformed', 'Yjs could not apply a checked slice of it', { cause })
        } finally {
          const parked = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
          doc.store.pendingStructs = null
          doc.store.pendingDs = null
          if (parked) throw new SyncUpdateRejectedError('missing-dependency', 'Yjs left part of a slice pending; it was dropped')
        }
        result.slices++
        const ms = clock.now() - t0
        if (ms * 2 <= o.sliceMs) sliceUnits = Math.min(MAX_SLICE_UNITS, sliceUnits * 2)
        else if (ms > o.sliceMs) sliceUnits = Math.max(MIN_SLICE_UNITS, Math.floor((units * o.sliceMs) / ms))
      }

      const { order } = plan
      for (let p = 0; p < order.length; ) {
        if (closed()) throw new DocumentsClosedError()
        const start = p
        let units = 0
        do units += cost.units[p++] as number
        while (p < order.length && units + (cost.units[p] as number) <= sliceUnits)
        applySlice(order.slice(start, p), [], units)
        await checkpoint()
      }
      const pieces = cost.deletePieces
      for (let i = 0; i < pieces.length; ) {
        if (closed()) throw new DocumentsClosedError()
        const ranges: DeleteRange[] = []
        let units = 0
        do {
          const piece = pieces[i++] as (typeof pieces)[number]
          ranges.push(piece.range)
          units += piece.units
        } while (i < pieces.length && units + (pieces[i] as (typeof pieces)[number]).units <= sliceUnits)
        applySlice([], ranges, units)
        await checkpoint()
      }
      result.workMs = workMs + clock.now() - turnStart
      return result
    },
  }
}
