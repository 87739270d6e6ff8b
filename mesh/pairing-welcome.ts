/**
 * The welcome an inviter seals to a joiner inside JOIN_ACCEPT (see pairing-protocol.ts):
 * closed UTF-8 JSON, byte fields as unpadded base64url.
 *
 *   member   { meshId, agent: { name, seed }, meshKeys: [{ epoch, key }], roster }
 *   witness  { role: "witness", meshId, agent: { name, publicKey }, roster }
 *
 * A member's welcome has no role field, as before witnesses existed. The joiner decodes the
 * kind its invitation announced and refuses the other.
 */
import { z } from 'zod'
import { PairingFrameMalformedError } from './errors.js'
import { b64, bytesSchema, describeIssue, ed25519PublicKeySchema, meshIdSchema, nameSchema } from './pairing-fields.js'
import { checkBody, parseJson } from './pairing-json.js'

/** Largest sealed welcome box in a JOIN_ACCEPT, and largest encoded Welcome, in bytes. */
export const MAX_WELCOME_BYTES = 200 * 1024

const MAX_ROSTER_BYTES = 150 * 1024
const MAX_MESH_KEYS = 1024
const MAX_EPOCH = 2 ** 31

export type WelcomeRole = 'member' | 'witness'

/** What a machine joining as a member receives: everything it needs to act for the agent. */
export interface MemberWelcome {
  role: 'member'
  meshId: string
  agent: { name: string; seed: Uint8Array }
  meshKeys: Array<{ epoch: number; key: Uint8Array }>
  /** A Yjs update holding the roster document. */
  roster: Uint8Array
}

/** What a witness receives: enough to verify and vote, nothing to sign or decrypt with. */
export interface WitnessWelcome {
  role: 'witness'
  meshId: string
  agent: { name: string; publicKey: Uint8Array }
  /** A Yjs update holding the roster document. */
  roster: Uint8Array
}

export type Welcome = MemberWelcome | WitnessWelcome

const memberWelcomeSchema = z.strictObject({
  meshId: meshIdSchema,
  agent: z.strictObject({
    name: nameSchema,
    seed: bytesSchema({ length: 32 }),
  }),
  meshKeys: z
    .array(
      z.strictObject({
        epoch: z
          .number()
          .int('must be an integer')
          .min(1, 'must be positive')
          .max(MAX_EPOCH, `must be at most ${MAX_EPOCH}`),
        key: bytesSchema({ length: 32 }),
      }),
    )
    .min(1, 'must hold at least one key')
    .max(MAX_MESH_KEYS, `must hold at most ${MAX_MESH_KEYS} keys`)
    .refine((keys) => new Set(keys.map((k) => k.epoch)).size === keys.length, { message: 'repeats an epoch' }),
  roster: bytesSchema({ max: MAX_ROSTER_BYTES }),
})

const witnessWelcomeSchema = z.strictObject({
  role: z.literal('witness', { error: 'must be "witness"' }),
  meshId: meshIdSchema,
  agent: z.strictObject({
    name: nameSchema,
    publicKey: ed25519PublicKeySchema,
  }),
  roster: bytesSchema({ max: MAX_ROSTER_BYTES }),
})

export function encodeWelcome(w: Welcome): Uint8Array {
  let body: Record<string, unknown>
  let schema: z.ZodType
  switch (w.role) {
    case 'member':
      schema = memberWelcomeSchema
      body = {
        meshId: w.meshId,
        agent: { name: w.agent.name, seed: b64(w.agent.seed) },
        meshKeys: w.meshKeys.map((k) => ({ epoch: k.epoch, key: b64(k.key) })),
        roster: b64(w.roster),
      }
      break
    case 'witness':
      schema = witnessWelcomeSchema
      body = {
        role: 'witness',
        meshId: w.meshId,
        agent: { name: w.agent.name, publicKey: b64(w.agent.publicKey) },
        roster: b64(w.roster),
      }
      break
    default:
      throw new PairingFrameMalformedError(`cannot encode welcome: unknown role ${String((w as { role?: unknown }).role)}`)
  }
  const checked = schema.safeParse(body)
  if (!checked.success) throw new PairingFrameMalformedError(`cannot encode welcome: ${describeIssue(checked.error)}`)
  const bytes = new TextEncoder().encode(JSON.stringify(body))
  if (bytes.length > MAX_WELCOME_BYTES) {
    throw new PairingFrameMalformedError(`cannot encode welcome: ${bytes.length} bytes exceed the ${MAX_WELCOME_BYTES}-byte limit`)
  }
  return bytes
}

/**
 * Decodes a welcome of the kind `role` the joiner's invitation announced. Throws
 * PairingFrameMalformedError on anything wrong, a welcome of the other kind included; never
 * any other error.
 */
export function decodeWelcome(bytes: Uint8Array, role: 'member'): MemberWelcome
export function decodeWelcome(bytes: Uint8Array, role: 'witness'): WitnessWelcome
export function decodeWelcome(bytes: Uint8Array, role: WelcomeRole): Welcome
export function decodeWelcome(bytes: Uint8Array, role: WelcomeRole): Welcome {
  try {
    if (role !== 'member' && role !== 'witness') throw new PairingFrameMalformedError('cannot decode welcome: unknown role expected')
    if (!(bytes instanceof Uint8Array)) throw new PairingFrameMalformedError('welcome is not bytes')
    if (bytes.length > MAX_WELCOME_BYTES) {
      throw new PairingFrameMalformedError(`welcome of ${bytes.length} bytes exceeds the ${MAX_WELCOME_BYTES}-byte limit`)
    }
    const parsed = parseJson(bytes, 'welcome')
    // The schemas would refuse the other kind anyway; this says so in words a person can act on.
    const carriesRole = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.hasOwn(parsed, 'role')
    if (role === 'witness') {
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && !carriesRole) {
        throw new PairingFrameMalformedError('welcome is a member\'s welcome where a witness\'s was expected')
      }
      return checkBody(witnessWelcomeSchema, parsed, 'welcome')
    }
    if (carriesRole && (parsed as { role?: unknown }).role === 'witness') {
      throw new PairingFrameMalformedError('welcome is a witness\'s welcome where a member\'s was expected')
    }
    return { role: 'member', ...checkBody(memberWelcomeSchema, parsed, 'welcome') }
  } catch (err) {
    if (err instanceof PairingFrameMalformedError) throw err
    throw new PairingFrameMalformedError('undecodable welcome', { cause: err })
  }
}
