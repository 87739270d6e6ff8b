/** Helpers for model tests: deterministic ids, two-document sync, error code and field. */
import * as Y from 'yjs'

export function counterIds(prefix: string): () => string {
  let n = 0
  return () => `${prefix}${++n}`
}

/** Exchanges full state both ways, as two machines do after a sync. */
export function sync(a: Y.Doc, b: Y.Doc): void {
  const fromA = Y.encodeStateAsUpdate(a)
  const fromB = Y.encodeStateAsUpdate(b)
  Y.applyUpdate(b, fromA)
  Y.applyUpdate(a, fromB)
}

export function codeAndField(fn: () => unknown): { code: unknown; field: unknown } {
  try {
    fn()
  } catch (err) {
    const e = err as { code?: unknown; field?: unknown }
    return { code: e.code, field: e.field }
  }
  throw new Error('expected a throw')
}
