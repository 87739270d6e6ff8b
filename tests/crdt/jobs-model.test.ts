import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createJobsModel, type JobRun } from '../../crdt/jobs-model.js'
import { codeAndField, counterIds, sync } from '../support/model-docs.js'

const NOW = Date.UTC(2030, 0, 1)
const daily = { name: 'daily-digest', cron: '0 9 * * *', prompt: 'Summarise yesterday', enabled: true, affinity: null }
const running = (job: string, startedAt: number): Omit<JobRun, 'id'> => ({
  job,
  scheduledFor: startedAt,
  machine: 'server-1',
  term: 3,
  startedAt,
  finishedAt: null,
  status: 'running',
  summary: null,
})

describe('jobs model', () => {
  it('defines a job and reads it back', () => {
    const jobs = createJobsModel(new Y.Doc())
    expect(jobs.define(daily, NOW)).toEqual({ ...daily, updatedAt: NOW })
    expect(jobs.get('daily-digest')).toEqual({ ...daily, updatedAt: NOW })
    expect(jobs.get('other')).toBeUndefined()
  })

  it('refuses bad definitions and names the field', () => {
    const jobs = createJobsModel(new Y.Doc())
    const cases: Array<[string, () => unknown]> = [
      ['name', () => jobs.define({ ...daily, name: 'Daily' }, NOW)],
      ['name', () => jobs.define({ ...daily, name: '-daily' }, NOW)],
      ['name', () => jobs.define({ ...daily, name: 'a'.repeat(65) }, NOW)],
      ['cron', () => jobs.define({ ...daily, cron: 'every day' }, NOW)],
      ['cron', () => jobs.define({ ...daily, cron: '61 * * * *' }, NOW)],
      ['cron', () => jobs.define({ ...daily, cron: '' }, NOW)],
      ['cron', () => jobs.define({ ...daily, cron: '2030-01-01T00:00:00' }, NOW)],
      ['cron', () => jobs.define({ ...daily, cron: '0 0 31 2 *' }, NOW)],
      ['prompt', () => jobs.define({ ...daily, prompt: '' }, NOW)],
      ['prompt', () => jobs.define({ ...daily, prompt: 'x'.repeat(20_001) }, NOW)],
      ['enabled', () => jobs.define({ ...daily, enabled: 'yes' as unknown as boolean }, NOW)],
      ['affinity', () => jobs.define({ ...daily, affinity: '' }, NOW)],
      ['now', () => jobs.define(daily, -5)],
    ]
    for (const [field, fn] of cases) expect(codeAndField(fn)).toEqual({ code: 'CRDT_INPUT_INVALID', field })
    expect(jobs.list()).toEqual([])
  })

  it('accepts croner nicknames and six-field patterns, with whitespace collapsed', () => {
    const jobs = createJobsModel(new Y.Doc())
    expect(jobs.define({ ...daily, cron: '@hourly' }, NOW).cron).toBe('@hourly')
    expect(jobs.define({ ...daily, name: 'fast', cron: '  */30   * * * * * ' }, NOW).cron).toBe('*/30 * * * * *')
  })

  it('replaces a definition, toggles it and lists by name', () => {
    const jobs = createJobsModel(new Y.Doc())
    jobs.define(daily, NOW)
    jobs.define({ ...daily, name: 'a-first' }, NOW)
    expect(jobs.define({ ...daily, prompt: 'New prompt', affinity: 'server-1' }, NOW + 1)).toEqual({
      ...daily,
      prompt: 'New prompt',
      affinity: 'server-1',
      updatedAt: NOW + 1,
    })
    expect(jobs.setEnabled('daily-digest', false, NOW + 2)).toMatchObject({ enabled: false, updatedAt: NOW + 2 })
    expect(jobs.list().map((j) => j.name)).toEqual(['a-first', 'daily-digest'])
  })

  it('reports a missing job by code', () => {
    const jobs = createJobsModel(new Y.Doc())
    expect(() => jobs.setEnabled('nope', true, NOW)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND', job: 'nope' }))
    expect(() => jobs.remove('nope')).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
    expect(() => jobs.recordRun(running('nope', NOW))).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
    jobs.define(daily, NOW)
    jobs.remove('daily-digest')
    expect(jobs.get('daily-digest')).toBeUndefined()
  })

  it('records and finishes a run', () => {
    const jobs = createJobsModel(new Y.Doc(), { id: counterIds('r') })
    jobs.define(daily, NOW)
    const id = jobs.recordRun(running('daily-digest', NOW))
    expect(jobs.runs()).toEqual([{ id, ...running('daily-digest', NOW) }])
    const done = jobs.finishRun(id, { status: 'succeeded', finishedAt: NOW + 500, summary: 'sent the digest' })
    expect(done).toMatchObject({ status: 'succeeded', finishedAt: NOW + 500, summary: 'sent the digest' })
    const failed = jobs.finishRun(jobs.recordRun(running('daily-digest', NOW + 1)), { status: 'failed', finishedAt: NOW + 2 })
    expect(failed.summary).toBeNull()
  })

  it('refuses bad runs and outcomes and names the field', () => {
    const jobs = createJobsModel(new Y.Doc())
    jobs.define(daily, NOW)
    const id = jobs.recordRun(running('daily-digest', NOW))
    const cases: Array<[string, () => unknown]> = [
      ['term', () => jobs.recordRun({ ...running('daily-digest', NOW), term: -1 })],
      ['term', () => jobs.recordRun({ ...running('daily-digest', NOW), term: 1.5 })],
      ['machine', () => jobs.recordRun({ ...running('daily-digest', NOW), machine: '' })],
      ['status', () => jobs.recordRun({ ...running('daily-digest', NOW), status: 'done' as 'running' })],
      ['finishedAt', () => jobs.recordRun({ ...running('daily-digest', NOW), finishedAt: NOW })],
      ['finishedAt', () => jobs.recordRun({ ...running('daily-digest', NOW), status: 'failed' })],
      ['scheduledFor', () => jobs.recordRun({ ...running('daily-digest', NOW), scheduledFor: Number.NaN })],
      ['status', () => jobs.finishRun(id, { status: 'running' as 'failed', finishedAt: NOW })],
      ['finishedAt', () => jobs.finishRun(id, { status: 'failed', finishedAt: NOW - 1 })],
      ['summary', () => jobs.finishRun(id, { status: 'failed', finishedAt: NOW, summary: 'x'.repeat(20_001) })],
      ['id', () => jobs.finishRun('no-such-run', { status: 'failed', finishedAt: NOW })],
    ]
    for (const [field, fn] of cases) expect(codeAndField(fn)).toEqual({ code: 'CRDT_INPUT_INVALID', field })
    jobs.finishRun(id, { status: 'abandoned', finishedAt: NOW })
    expect(codeAndField(() => jobs.finishRun(id, { status: 'succeeded', finishedAt: NOW }))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'id' })
  })

  it('lists runs newest first, by job and up to a limit', () => {
    const jobs = createJobsModel(new Y.Doc(), { id: counterIds('r') })
    jobs.define(daily, NOW)
    jobs.define({ ...daily, name: 'weekly' }, NOW)
    jobs.recordRun(running('daily-digest', NOW + 10))
    jobs.recordRun(running('weekly', NOW + 20))
    jobs.recordRun(running('daily-digest', NOW + 30))
    expect(jobs.runs().map((r) => r.id)).toEqual(['r3', 'r2', 'r1'])
    expect(jobs.runs('daily-digest').map((r) => r.id)).toEqual(['r3', 'r1'])
    expect(jobs.runs(undefined, 1).map((r) => r.id)).toEqual(['r3'])
    expect(codeAndField(() => jobs.runs(undefined, 0))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'limit' })
  })

  it('keeps a concurrent toggle and prompt edit made on two machines', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const ja = createJobsModel(a)
    const jb = createJobsModel(b)
    ja.define(daily, NOW)
    sync(a, b)
    ja.setEnabled('daily-digest', false, NOW + 1)
    jb.define({ ...daily, prompt: 'Edited on b' }, NOW + 1)
    sync(a, b)
    expect(ja.get('daily-digest')).toEqual(jb.get('daily-digest'))
    expect(ja.get('daily-digest')).toMatchObject({ enabled: false, prompt: 'Edited on b' })
  })

  it('converges to one whole outcome when two machines finish a run at once', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    const ja = createJobsModel(a)
    const jb = createJobsModel(b)
    ja.define(daily, NOW)
    const id = ja.recordRun(running('daily-digest', NOW))
    sync(a, b)
    ja.finishRun(id, { status: 'succeeded', finishedAt: NOW + 5, summary: 'from a' })
    jb.finishRun(id, { status: 'abandoned', finishedAt: NOW + 9 })
    sync(a, b)
    const [run] = ja.runs()
    expect(jb.runs()).toEqual(ja.runs())
    expect([
      { status: 'succeeded', finishedAt: NOW + 5, summary: 'from a' },
      { status: 'abandoned', finishedAt: NOW + 9, summary: null },
    ]).toContainEqual({ status: run?.status, finishedAt: run?.finishedAt, summary: run?.summary })
  })
})
