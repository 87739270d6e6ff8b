/**
 * Scheduled jobs and their run history, as a typed facade over a Yjs document.
 *
 * Layout:
 *   `jobs`  job name → Y.Map { cron, prompt, enabled, affinity, updatedAt }, one key per field
 *           so a concurrent setEnabled and a prompt edit both survive.
 *   `runs`  run id → Y.Map { job, scheduledFor, machine, term, startedAt, outcome }, where
 *           outcome is null while running, else one plain value { status, finishedAt, summary }.
 *           The outcome is a single value, not three keys, so two machines finishing the same
 *           run at once converge to one whole outcome rather than a mix of both.
 *
 * A peer's update may hold only that (JOBS_SCHEMA): records with those fields, each field a
 * plain value of at most JOB_FIELD_SIZE, under keys of at most 256 characters.
 *
 * Cron patterns are checked by croner (5, 6 or 7 fields, or a nickname such as @daily), must
 * fire at least once after `now`, and are stored with their whitespace collapsed. Runs are
 * never pruned here; whoever records them decides on retention.
 */
import { randomBytes } from 'node:crypto'
import { Cron } from 'croner'
import * as Y from 'yjs'
import { JobNotFoundError, ModelInputInvalidError } from './errors.js'
import { MAX_MACHINE_ID_LENGTH, checkMachineId, checkTime, compareStrings } from './model-fields.js'
import type { DocumentSchema } from './update-schema.js'

export interface JobDefinition {
  /** ^[a-z0-9][a-z0-9-]{0,63}$ */
  name: string
  cron: string
  /** 1..20000 characters */
  prompt: string
  enabled: boolean
  /** The machine that should run it, or null for whichever leads. */
  affinity: string | null
  updatedAt: number
}

export type JobRunStatus = 'running' | 'succeeded' | 'failed' | 'abandoned'

export interface JobRun {
  id: string
  job: string
  scheduledFor: number
  machine: string
  term: number
  startedAt: number
  finishedAt: number | null
  status: JobRunStatus
  summary: string | null
}

export interface JobRunOutcome {
  status: 'succeeded' | 'failed' | 'abandoned'
  finishedAt: number
  summary?: string
}

export interface JobsModel {
  /** Creates or replaces a definition (only changed fields are written). */
  define(def: Omit<JobDefinition, 'updatedAt'>, now: number): JobDefinition
  /** JobNotFoundError if absent. */
  setEnabled(name: string, enabled: boolean, now: number): JobDefinition
  /** JobNotFoundError if absent. Its runs stay in the history. */
  remove(name: string): void
  get(name: string): JobDefinition | undefined
  /** By name. */
  list(): JobDefinition[]
  /** Records a run of a defined job (JobNotFoundError otherwise); returns its id. */
  recordRun(run: Omit<JobRun, 'id'>): string
  /** Finishes a running run. ModelInputInvalidError('id') if there is no such run or it already finished. */
  finishRun(id: string, outcome: JobRunOutcome): JobRun
  /** Newest startedAt first (ties: newest scheduledFor, then id); limit defaults to 100, at most 10000. */
  runs(job?: string, limit?: number): JobRun[]
}

export interface JobsModelDeps {
  /** New run ids; default 16 random bytes as hex. */
  id?: () => string
}

export const JOB_LIMITS = { cron: 256, prompt: 20_000, summary: 20_000, machineId: MAX_MACHINE_ID_LENGTH, defaultRuns: 100, maxRuns: 10_000 } as const

/** Room for the largest field: a prompt, or an outcome with its summary (plainSize). */
const JOB_FIELD_SIZE = 24 * 1024

/** What a peer's update of the jobs document may hold (see the layout above). */
export const JOBS_SCHEMA: DocumentSchema = {
  roots: {
    jobs: { maxKeyLength: 64, value: { kind: 'record', fields: ['cron', 'prompt', 'enabled', 'affinity', 'updatedAt'], maxSize: JOB_FIELD_SIZE } },
    runs: {
      maxKeyLength: 256,
      value: { kind: 'record', fields: ['job', 'scheduledFor', 'machine', 'term', 'startedAt', 'outcome'], maxSize: JOB_FIELD_SIZE },
    },
  },
}

const JOB_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/
const STATUSES: readonly JobRunStatus[] = ['running', 'succeeded', 'failed', 'abandoned']
const FINISHED: readonly JobRunStatus[] = ['succeeded', 'failed', 'abandoned']

interface StoredOutcome {
  status: 'succeeded' | 'failed' | 'abandoned'
  finishedAt: number
  summary: string | null
}

export function createJobsModel(doc: Y.Doc, deps: JobsModelDeps = {}): JobsModel {
  const jobs = doc.getMap<Y.Map<unknown>>('jobs')
  const runs = doc.getMap<Y.Map<unknown>>('runs')
  const newId = deps.id ?? (() => randomBytes(16).toString('hex'))

  const readJob = (name: string): JobDefinition | undefined => {
    const m = jobs.get(name)
    return m instanceof Y.Map ? decodeJob(name, m) : undefined
  }

  const readRun = (id: string): JobRun | undefined => {
    const m = runs.get(id)
    return m instanceof Y.Map ? decodeRun(id, m) : undefined
  }

  return {
    define(def, now) {
      if (typeof def !== 'object' || def === null) throw new ModelInputInvalidError('def', 'must be an object')
      checkTime(now, 'now')
      const name = checkName(def.name)
      const cron = checkCron(def.cron, now)
      const prompt = checkPrompt(def.prompt)
      const enabled = checkBoolean(def.enabled, 'enabled')
      const affinity = def.affinity === null ? null : checkMachineId(def.affinity, 'affinity')
      const fields: Omit<JobDefinition, 'name'> = { cron, prompt, enabled, affinity, updatedAt: now }
      const current = readJob(name)
      const existing = jobs.get(name)
      doc.transact(() => {
        const m = current !== undefined && existing instanceof Y.Map ? existing : new Y.Map<unknown>()
        for (const [key, value] of Object.entries(fields)) {
          if (current === undefined || current[key as keyof JobDefinition] !== value) m.set(key, value)
        }
        if (m !== existing) jobs.set(name, m)
      })
      return readJob(name) as JobDefinition
    },

    setEnabled(name, enabled, now) {
      checkName(name)
      checkBoolean(enabled, 'enabled')
      checkTime(now, 'now')
      const m = jobs.get(name)
      const current = readJob(name)
      if (current === undefined || !(m instanceof Y.Map)) throw new JobNotFoundError(name)
      doc.transact(() => {
        if (current.enabled !== enabled) m.set('enabled', enabled)
        m.set('updatedAt', now)
      })
      return readJob(name) as JobDefinition
    },

    remove(name) {
      checkName(name)
      if (!jobs.has(name)) throw new JobNotFoundError(name)
      jobs.delete(name)
    },

    get(name) {
      checkName(name)
      return readJob(name)
    },

    list() {
      const out: JobDefinition[] = []
      for (const name of [...jobs.keys()].sort()) {
        const job = readJob(name)
        if (job !== undefined) out.push(job)
      }
      return out
    },

    recordRun(run) {
      if (typeof run !== 'object' || run === null) throw new ModelInputInvalidError('run', 'must be an object')
      const job = checkName(run.job, 'job')
      checkTime(run.scheduledFor, 'scheduledFor')
      checkTime(run.startedAt, 'startedAt')
      const machine = checkMachineId(run.machine, 'machine')
      if (typeof run.term !== 'number' || !Number.isSafeInteger(run.term) || run.term < 0) {
        throw new ModelInputInvalidError('term', 'must be a non-negative whole number')
      }
      if (!STATUSES.includes(run.status)) throw new ModelInputInvalidError('status', `must be one of ${STATUSES.join(', ')}`)
      let outcome: StoredOutcome | null = null
      if (run.status === 'running') {
        if (run.finishedAt !== null) throw new ModelInputInvalidError('finishedAt', 'must be null while the run is running')
        if (run.summary !== null) throw new ModelInputInvalidError('summary', 'must be null while the run is running')
      } else {
        outcome = checkOutcome({ status: run.status, finishedAt: run.finishedAt as number, summary: run.summary ?? undefined }, run.startedAt)
      }
      if (readJob(job) === undefined) throw new JobNotFoundError(job)
      const id = newId()
      if (typeof id !== 'string' || id.length === 0 || runs.has(id)) {
        throw new ModelInputInvalidError('id', 'the id generator returned an empty or taken id')
      }
      doc.transact(() => {
        const m = new Y.Map<unknown>()
        m.set('job', job)
        m.set('scheduledFor', run.scheduledFor)
        m.set('machine', machine)
        m.set('term', run.term)
        m.set('startedAt', run.startedAt)
        m.set('outcome', outcome)
        runs.set(id, m)
      })
      return id
    },

    finishRun(id, outcome) {
      if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
        throw new ModelInputInvalidError('id', 'must be a non-empty string of at most 256 characters')
      }
      if (typeof outcome !== 'object' || outcome === null) throw new ModelInputInvalidError('outcome', 'must be an object')
      const current = readRun(id)
      const m = runs.get(id)
      if (current === undefined || !(m instanceof Y.Map)) throw new ModelInputInvalidError('id', `no job run ${id}`)
      const stored = checkOutcome(outcome, current.startedAt)
      if (current.status !== 'running') throw new ModelInputInvalidError('id', `run ${id} already finished as ${current.status}`)
      m.set('outcome', stored)
      return readRun(id) as JobRun
    },

    runs(job, limit) {
      if (job !== undefined) checkName(job, 'job')
      let max: number = JOB_LIMITS.defaultRuns
      if (limit !== undefined) {
        if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > JOB_LIMITS.maxRuns) {
          throw new ModelInputInvalidError('limit', `must be a whole number from 1 to ${JOB_LIMITS.maxRuns}`)
        }
        max = limit
      }
      const out: JobRun[] = []
      for (const id of runs.keys()) {
        const run = readRun(id)
        if (run !== undefined && (job === undefined || run.job === job)) out.push(run)
      }
      out.sort((a, b) => b.startedAt - a.startedAt || b.scheduledFor - a.scheduledFor || compareStrings(a.id, b.id))
      return out.slice(0, max)
    },
  }
}

function decodeJob(name: string, m: Y.Map<unknown>): JobDefinition | undefined {
  const cron = m.get('cron')
  const prompt = m.get('prompt')
  const enabled = m.get('enabled')
  const affinity = m.get('affinity')
  const updatedAt = m.get('updatedAt')
  if (
    typeof cron !== 'string' ||
    typeof prompt !== 'string' ||
    typeof enabled !== 'boolean' ||
    !(affinity === null || typeof affinity === 'string') ||
    typeof updatedAt !== 'number'
  ) {
    return undefined
  }
  return { name, cron, prompt, enabled, affinity, updatedAt }
}

function decodeRun(id: string, m: Y.Map<unknown>): JobRun | undefined {
  const job = m.get('job')
  const scheduledFor = m.get('scheduledFor')
  const machine = m.get('machine')
  const term = m.get('term')
  const startedAt = m.get('startedAt')
  const outcome = m.get('outcome')
  if (
    typeof job !== 'string' ||
    typeof scheduledFor !== 'number' ||
    typeof machine !== 'string' ||
    typeof term !== 'number' ||
    typeof startedAt !== 'number'
  ) {
    return undefined
  }
  const base = { id, job, scheduledFor, machine, term, startedAt }
  if (outcome === null || outcome === undefined) return { ...base, finishedAt: null, status: 'running', summary: null }
  const o = outcome as Partial<StoredOutcome>
  if (
    typeof o !== 'object' ||
    !FINISHED.includes(o.status as JobRunStatus) ||
    typeof o.finishedAt !== 'number' ||
    !(o.summary === null || typeof o.summary === 'string')
  ) {
    return undefined
  }
  return { ...base, finishedAt: o.finishedAt, status: o.status as StoredOutcome['status'], summary: o.summary }
}

function checkOutcome(outcome: { status: unknown; finishedAt: unknown; summary?: unknown }, startedAt: number): StoredOutcome {
  if (!FINISHED.includes(outcome.status as JobRunStatus)) {
    throw new ModelInputInvalidError('status', `must be one of ${FINISHED.join(', ')}`)
  }
  checkTime(outcome.finishedAt, 'finishedAt')
  if ((outcome.finishedAt as number) < startedAt) throw new ModelInputInvalidError('finishedAt', 'must not be before startedAt')
  const summary = outcome.summary ?? null
  if (summary !== null && (typeof summary !== 'string' || summary.length > JOB_LIMITS.summary)) {
    throw new ModelInputInvalidError('summary', `must be a string of at most ${JOB_LIMITS.summary} characters`)
  }
  return { status: outcome.status as StoredOutcome['status'], finishedAt: outcome.finishedAt as number, summary }
}

function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !JOB_NAME.test(name)) {
    throw new ModelInputInvalidError(field, 'must be 1-64 characters of a-z, 0-9 and -, starting with a letter or digit')
  }
  return name
}

/** Whitespace-collapsed pattern; croner would take a string with ':' for a one-off date, so that is refused. */
function checkCron(expr: unknown, now: number): string {
  if (typeof expr !== 'string') throw new ModelInputInvalidError('cron', 'must be a string')
  const pattern = expr.trim().split(/\s+/).join(' ')
  if (pattern.length === 0 || pattern.length > JOB_LIMITS.cron) {
    throw new ModelInputInvalidError('cron', `must be 1-${JOB_LIMITS.cron} characters`)
  }
  if (pattern.includes(':')) throw new ModelInputInvalidError('cron', 'must be a cron pattern, not a date')
  let next: Date | null
  try {
    const job = new Cron(pattern, { paused: true })
    next = job.nextRun(new Date(now))
    job.stop()
  } catch (err) {
    throw new ModelInputInvalidError('cron', `not a valid cron pattern: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (next === null) throw new ModelInputInvalidError('cron', 'never fires')
  return pattern
}

function checkPrompt(prompt: unknown): string {
  if (typeof prompt !== 'string' || prompt.trim().length === 0 || prompt.length > JOB_LIMITS.prompt) {
    throw new ModelInputInvalidError('prompt', `must be 1-${JOB_LIMITS.prompt} characters, not only whitespace`)
  }
  return prompt
}

function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ModelInputInvalidError(field, 'must be true or false')
  return value
}
