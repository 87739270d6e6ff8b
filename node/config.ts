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
