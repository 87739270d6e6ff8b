/**
 * The agent's identity text (who it is, how it speaks), told to every session it runs: one
 * value in the memory document's `agent` root map, under the key `identity`, as
 * { text, by, at }, replaced whole (last writer wins). A person sets it (instar agent identity
 * set); no peer's update may hold anything else in that root (MEMORY_SCHEMA). A value a remote
 * writer left malformed reads as none.
 */
import * as Y from 'yjs'
import { ModelInputInvalidError } from './errors.js'

export interface AgentIdentity {
  text: string
  /** The machine that set it. */
  by: string
  at: number
}

export interface IdentityModel {
  get(): AgentIdentity | null
  /** Replaces the text; '' (or only whitespace) clears it. */
  set(text: string, by: string, now: number): AgentIdentity | null
}

export const IDENTITY_LIMITS = { maxTextLength: 20_000, maxByLength: 128 } as const

const isIdentity = (v: unknown): v is AgentIdentity => {
  if (typeof v !== 'object' || v === null) return false
  const r = v as Record<string, unknown>
  return (
    typeof r.text === 'string' &&
    r.text.trim() !== '' &&
    r.text.length <= IDENTITY_LIMITS.maxTextLength &&
    typeof r.by === 'string' &&
    r.by.length <= IDENTITY_LIMITS.maxByLength &&
    typeof r.at === 'number' &&
    Number.isFinite(r.at)
  )
}

export function createIdentityModel(doc: Y.Doc): IdentityModel {
  const agent = doc.getMap<unknown>('agent')
  return {
    get() {
      const v = agent.get('identity')
      return isIdentity(v) ? { text: v.text, by: v.by, at: v.at } : null
    },
    set(text, by, now) {
      if (typeof text !== 'string') throw new ModelInputInvalidError('text', 'must be a string')
      if (text.length > IDENTITY_LIMITS.maxTextLength) throw new ModelInputInvalidError('text', `must be at most ${IDENTITY_LIMITS.maxTextLength} characters`)
      if (typeof by !== 'string' || by === '' || by.length > IDENTITY_LIMITS.maxByLength) throw new ModelInputInvalidError('by', 'must be a machine id')
      if (text.trim() === '') {
        agent.delete('identity')
        return null
      }
      const value: AgentIdentity = { text, by, at: now }
      agent.set('identity', value)
      return value
    },
  }
}
