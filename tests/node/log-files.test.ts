import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openRotatingLog } from '../../node/log-files.js'
import { startLeaseJournal } from '../../node/lease-journal.js'
import { startTestNode } from '../support/mesh-nodes.js'
import { createSystemClock } from '../../runtime/index.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '')

describe('rotating log files', () => {
  it('rotates at the size limit and keeps only the configured number of old files', () => {
    const path = join(tempDir(), 'logs', 'x.log')
    const log = openRotatingLog(path, { maxBytes: 100, keep: 2 })
    for (let i = 0; i < 40; i++) log.write(`line ${String(i).padStart(3, '0')} ${'.'.repeat(10)}`)
    log.close()
    for (const file of [path, `${path}.1`, `${path}.2`]) expect(statSync(file).size).toBeLessThanOrEqual(100)
    expect(existsSync(`${path}.3`)).toBe(false)
    // The newest lines are in the current file, the ones before them in .1, in order.
    expect(lines(path).at(-1)).toContain('line 039')
    const older = lines(`${path}.1`)
    expect(Number(/line (\d+)/.exec(older.at(-1) ?? '')?.[1]) + 1).toBe(Number(/line (\d+)/.exec(lines(path)[0] ?? '')?.[1]))
  })

  it('appends to what a previous run left and counts its size', () => {
    const path = join(tempDir(), 'y.log')
    const first = openRotatingLog(path, { maxBytes: 60, keep: 1 })
    first.write('a'.repeat(40))
    first.close()
    const second = openRotatingLog(path, { maxBytes: 60, keep: 1 })
    second.write('b'.repeat(40))
    second.close()
    expect(lines(`${path}.1`)).toEqual(['a'.repeat(40)])
    expect(lines(path)).toEqual(['b'.repeat(40)])
  })

  it('writes a line longer than the limit whole, into a file of its own', () => {
    const path = join(tempDir(), 'z.log')
    const log = openRotatingLog(path, { maxBytes: 10, keep: 3 })
    log.write('short')
    log.write('x'.repeat(50))
    log.close()
    expect(lines(path)).toEqual(['x'.repeat(50)])
    expect(lines(`${path}.1`)).toEqual(['short'])
  })
})

describe('lease journal', () => {
  const run = async (renewals: boolean): Promise<Array<{ event: string; reason?: string; term: number }>> => {
    const path = join(tempDir(), 'lease.log')
    let stop = (): void => undefined
    const node = await startTestNode({
      name: 'solo',
      founder: true,
      beforeStart: (mesh) => {
        stop = startLeaseJournal({ mesh, clock: createSystemClock(), path }, { renewals, everyMs: 1 })
      },
    })
    // A lone machine leads at once; wait until it has renewed its lease a few times.
    const first = await waitFor(() => node.mesh.leader().leaseExpiresAt, { timeoutMs: 15_000, what: 'a lease' })
    await waitFor(() => (node.mesh.leader().leaseExpiresAt ?? 0) > first + 500, { timeoutMs: 15_000, what: 'renewals' })
    await node.mesh.stop()
    stop()
    return lines(path).map((l) => JSON.parse(l) as { event: string; reason?: string; term: number })
  }

  it('logs the acquisition and the loss of a lease, not its renewals', async () => {
    const events = await run(false)
    expect(events.map((e) => e.event)).toEqual(['acquired', 'lost'])
    expect(events[1]).toMatchObject({ reason: 'stopped', term: events[0]?.term })
  })

  it('logs renewals too when asked (the fault suite checker needs them)', async () => {
    const events = await run(true)
    expect(events[0]?.event).toBe('acquired')
    expect(events.filter((e) => e.event === 'extended').length).toBeGreaterThan(0)
    expect(events.at(-1)?.event).toBe('lost')
  })
})
