/**
 * config.json: what a user may set, validated by a strict schema. A bad field is named
 * in the error and the node refuses to start; unknown fields are refused too, so a typo
 * never silently does nothing.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import type { Durability } from '../crdt/index.js'
import { ConfigInvalidError } from './errors.js'

const name = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may hold only letters, digits, ".", "_" and "-", and must start with a letter or digit')

const listenAddress = z.string().refine(
  (value) => {
    try {
      multiaddr(value)
      return true
    } catch {
      return false
    }
  },
  { message: 'is not a valid multiaddr (example: /ip4/0.0.0.0/tcp/4100)' },
)

/** A duration as config.json holds it: whole seconds, or a number with a unit ("500ms", "90s", "10m", "2h"). */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const
const MAX_DURATION_MS = 7 * 24 * 3_600_000
export const duration = z
  .union([z.number().int().min(0).max(MAX_DURATION_MS / 1000), z.string().regex(/^[0-9]{1,9}(ms|s|m|h)$/, 'must be whole seconds or a number with ms, s, m or h (example: "10m")')])
  .refine((value) => durationMs(value) <= MAX_DURATION_MS, { message: 'must be at most 7 days' })

/** A checked duration in milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000
  const unit = (/(ms|s|m|h)$/.exec(value)?.[1] ?? 's') as keyof typeof UNIT_MS
  return Number(value.slice(0, -unit.length)) * UNIT_MS[unit]
}

/**
 * The Claude Code runner of this machine (each machine has its own `claude` install and
 * login, so these are not shared): the command and extra args, the model and permission mode
 * it passes, how many sessions may live at once, how long a session stays warm between
 * messages, a turn's timeout, and how many characters of context a new session is told.
 */
export const sessionsSchema = z.strictObject({
  command: z.string().min(1).max(4096).default('claude'),
  args: z.array(z.string().max(4096)).max(64).default([]),
  model: z.string().min(1).max(100).regex(/^[A-Za-z0-9._:\[\]-]+$/, 'may hold only letters, digits and . _ : [ ] -').optional(),
  permissionMode: z.string().min(1).max(40).regex(/^[A-Za-z]+$/, 'must be a Claude Code permission mode such as acceptEdits').optional(),
  maxBudgetUsd: z.number().positive().max(10_000).optional(),
  maxConcurrent: z.number().int().min(1).max(64).default(2),
  warmTtl: duration.default('10m'),
  timeout: duration.default('10m'),
  contextBudget: z.number().int().min(1000).max(1_000_000).default(20_000),
})

const publicKeyHex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')

export const configSchema = z.strictObject({
  version: z.literal(1),
  /** 'witness': this data directory runs a witness (instar relay start --witness), which votes but never leads. */
  role: z.enum(['node', 'witness']).default('node'),
  machine: z.strictObject({
    name,
    priority: z.number().int().min(0).max(1000).default(0),
  }),
  agent: z
    .strictObject({
      name,
      publicKey: publicKeyHex,
    })
    .nullable(),
  api: z
    .strictObject({
      port: z.number().int().min(0).max(65535),
    })
    .default({ port: 0 }),
  listen: z.array(listenAddress).min(1, 'must list at least one address').default(['/ip4/0.0.0.0/tcp/0']),
  mdns: z.boolean().default(false),
  storage: z
    .strictObject({
      durability: z.enum(['power-loss', 'process-crash'] as const satisfies readonly Durability[]),
    })
    .default({ durability: 'power-loss' }),
  sessions: sessionsSchema.prefault({}),
  /**
   * The conversation pipeline: finished inbox and outbox entries are pruned after
   * retentionDays (the messages stay). Each machine prunes with its own setting and the
   * deletions sync, so the shortest setting in the mesh is the one that holds.
   */
  channels: z
    .strictObject({
      retentionDays: z.number().int().min(1).max(3650).default(7),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    })
    .default({ level: 'info' }),
})

export type Config = z.infer<typeof configSchema>

/** Validates a parsed value; the error names the first bad field. */
export function parseConfig(value: unknown, path: string): Config {
  const result = configSchema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? null : issue.path.map(String).join('.')
  throw new ConfigInvalidError(path, field, describeIssue(issue))
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'is not valid'
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  return issue.message
}

export function loadConfig(path: string): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ConfigInvalidError(path, null, code === 'ENOENT' ? 'the file does not exist' : `cannot be read (${code ?? 'error'})`, {
      cause: err,
    })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ConfigInvalidError(path, null, `is not valid JSON (${(err as Error).message})`, { cause: err })
  }
  return parseConfig(value, path)
}

/** Writes atomically (temp file, rename) so a crash never leaves half a config. */
export function writeConfig(path: string, config: Config): void {
  const checked = parseConfig(config, path)
  const tmp = join(dirname(path), `.config.json.${process.pid}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, path)
}
