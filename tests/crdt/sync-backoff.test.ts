import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../runtime/index.js'
import { countsTowardBackoff, createSyncBackoff } from '../../crdt/sync-backoff.js'

const options = { refusalLimit: 3, refusalWindowMs: 10_000, backoffMs: 1_000, maxBackoffMs: 5_000, forgiveAfterMs: 60_000 }

describe('sync backoff', () => {
  it('starts a backoff at the limit of refusals within the window, and ends it after the backoff', () => {
    const clock = createManualClock(1_000_000)
    const b = createSyncBackoff(options)
    expect(b.refused('p', clock.now(), 'bad')).toBeNull()
    clock.advance(100)
    expect(b.refused('p', clock.now(), 'bad')).toBeNull()
    clock.advance(100)
    expect(b.refused('p', clock.now(), 'worse')).toEqual({ until: clock.now() + 1_000, times: 1, reason: 'worse' })
    expect(b.active('p', clock.now())?.times).toBe(1)
    expect(b.active('q', clock.now())).toBeNull()
    clock.advance(999)
    expect(b.active('p', clock.now())).not.toBeNull()
    clock.advance(1)
    expect(b.active('p', clock.now())).toBeNull()
  })

  it('forgets refusals older than the window', () => {
    const clock = createManualClock(0)
    const b = createSyncBackoff(options)
    b.refused('p', clock.now(), 'x')
    b.refused('p', clock.now(), 'x')
    clock.advance(10_000)
    expect(b.recent('p', clock.now())).toBe(0)
    expect(b.refused('p', clock.now(), 'x')).toBeNull()
    expect(b.recent('p', clock.now())).toBe(1)
  })

  it('doubles the backoff on each repeat, up to the cap, and starts over after a quiet hour', () => {
    const clock = createManualClock(0)
    const b = createSyncBackoff(options)
    const lengths: number[] = []
    for (let round = 0; round < 5; round++) {
      let started = null
      for (let i = 0; i < 3; i++) started = b.refused('p', clock.now(), 'x')
      if (started === null) throw new Error('expected a backoff')
      lengths.push(started.until - clock.now())
      clock.set(started.until)
    }
    expect(lengths).toEqual([1_000, 2_000, 4_000, 5_000, 5_000])
    clock.advance(60_000)
    let again = null
    for (let i = 0; i < 3; i++) again = b.refused('p', clock.now(), 'x')
    expect(again?.times).toBe(1)
    expect((again?.until ?? 0) - clock.now()).toBe(1_000)
  })

  it('counts nothing while a backoff is on', () => {
    const clock = createManualClock(0)
    const b = createSyncBackoff(options)
    for (let i = 0; i < 3; i++) b.refused('p', clock.now(), 'x')
    for (let i = 0; i < 10; i++) expect(b.refused('p', clock.now(), 'x')).toBeNull()
    clock.advance(1_000)
    expect(b.recent('p', clock.now())).toBe(0)
  })

  it('counts what only a buggy or hostile member sends, not unknown epochs, replays or unknown documents', () => {
    for (const reason of ['auth-failed', 'malformed', 'schema', 'too-costly']) expect(countsTowardBackoff('SYNC_UPDATE_REJECTED', reason)).toBe(true)
    for (const reason of ['unknown-epoch', 'replay', 'wrong-document']) expect(countsTowardBackoff('SYNC_UPDATE_REJECTED', reason)).toBe(false)
    for (const code of ['SYNC_FRAME_MALFORMED', 'SYNC_FRAME_TOO_LARGE', 'SYNC_CHUNK_REFUSED', 'SYNC_FLOW_VIOLATION']) expect(countsTowardBackoff(code, 'x')).toBe(true)
    for (const code of ['SYNC_APPLY_FAILED', 'SYNC_STREAM_RESET', 'SYNC_REFUSED_BY_PEER', 'SYNC_OPEN_FAILED']) expect(countsTowardBackoff(code, 'x')).toBe(false)
  })
})
