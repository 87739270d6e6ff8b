/**
 * The agent's secrets (API tokens and the like), as a typed facade over a Yjs document. The
 * document is sealed with the mesh key at rest and on the wire by other code; this facade is
 * the only reader of values, and nothing it returns or throws other than get() carries one.
 *
 * Layout: `doc.getMap('secrets')` maps a name to one plain value { value, updatedAt }, so a
 * value and its time are replaced together (last writer wins) and never mixed. A peer's update
 * may hold only that (SECRETS_SCHEMA): plain values of at most SECRET_VALUE_SIZE under names of
 * at most 128 characters.
 */
import * as Y from 'yjs'
import { ModelInputInvalidError, SecretNotFoundError } from './errors.js'
import type { DocumentSchema } from './update-schema.js'

export interface SecretsModel {
  /** Name ^[A-Za-z0-9_.-]{1,128}$; value 1 byte to 64 KiB of UTF-8. */
  set(name: string, value: string, now: number): void
  /** SecretNotFoundError if absent. */
  get(name: string): string
  has(name: string): boolean
  /** Names and times only, never values; by name. */
  list(): Array<{ name: string; updatedAt: number }>
  /** SecretNotFoundError if absent. */
  remove(name: string): void
}

export const SECRET_LIMITS = { valueBytes: 64 * 1024 } as const

/** A 64 KiB value (at most as many UTF-16 code units as UTF-8 bytes) and its time (plainSize). */
const SECRET_VALUE_SIZE = SECRET_LIMITS.valueBytes + 64

/** What a peer's update of the secrets document may hold (see the layout above). */
export const SECRETS_SCHEMA: DocumentSchema = {
  roots: { secrets: { maxKeyLength: 128, value: { kind: 'plain', maxSize: SECRET_VALUE_SIZE } } },
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/

interface StoredSecret {
  value: string
  updatedAt: number
}

export function createSecretsModel(doc: Y.Doc): SecretsModel {
  const secrets = doc.getMap<unknown>('secrets')

  const read = (name: string): StoredSecret | undefined => {
    const raw = secrets.get(name)
    if (typeof raw !== 'object' || raw === null) return undefined
    const { value, updatedAt } = raw as Partial<StoredSecret>
    return typeof value === 'string' && typeof updatedAt === 'number' ? { value, updatedAt } : undefined
  }

  return {
    set(name, value, now) {
      checkName(name)
      // Reasons never quote the value: errors end up in logs.
      if (typeof value !== 'string') throw new ModelInputInvalidError('value', 'must be a string')
      if (value.length === 0) throw new ModelInputInvalidError('value', 'must not be empty')
      if (Buffer.byteLength(value, 'utf8') > SECRET_LIMITS.valueBytes) {
        throw new ModelInputInvalidError('value', `must be at most ${SECRET_LIMITS.valueBytes} bytes of UTF-8`)
      }
      if (typeof now !== 'number' || !Number.isFinite(now) || now < 0 || now > 8.64e15) {
        throw new ModelInputInvalidError('now', 'must be a time in milliseconds since the epoch')
      }
      secrets.set(name, { value, updatedAt: now })
    },

    get(name) {
      checkName(name)
      const secret = read(name)
      if (secret === undefined) throw new SecretNotFoundError(name)
      return secret.value
    },

    has(name) {
      checkName(name)
      return read(name) !== undefined
    },

    list() {
      const out: Array<{ name: string; updatedAt: number }> = []
      for (const name of [...secrets.keys()].sort()) {
        const secret = read(name)
        if (secret !== undefined) out.push({ name, updatedAt: secret.updatedAt })
      }
      return out
    },

    remove(name) {
      checkName(name)
      if (!secrets.has(name)) throw new SecretNotFoundError(name)
      secrets.delete(name)
    },
  }
}

/** The name is not echoed either: a value pasted into the name field must not reach a log. */
function checkName(name: unknown): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ModelInputInvalidError('name', 'must be 1-128 characters of A-Z, a-z, 0-9, _ . -')
  }
}
