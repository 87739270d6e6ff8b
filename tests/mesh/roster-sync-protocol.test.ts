import { describe, expect, it } from 'vitest'
import { MAX_ROSTER_FRAME, decodeRosterState, encodeRosterState } from '../../mesh/roster-sync-protocol.js'

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code ?? 'NO_CODE'
  }
  return 'NO_ERROR'
}

describe('roster sync frames', () => {
  it('round-trips an update', () => {
    const update = new Uint8Array([1, 2, 3, 4])
    expect(decodeRosterState(encodeRosterState(update))).toEqual(update)
  })

  it.each([
    ['empty', new Uint8Array()],
    ['header only', new Uint8Array([1, 1])],
    ['version 2', new Uint8Array([2, 1, 0])],
    ['version 0', new Uint8Array([0, 1, 0])],
    ['unknown type', new Uint8Array([1, 9, 0])],
    ['oversized', new Uint8Array(MAX_ROSTER_FRAME + 1).fill(1)],
  ])('refuses a %s frame with ROSTER_FRAME_MALFORMED', (_name, frame) => {
    expect(codeOf(() => decodeRosterState(frame))).toBe('ROSTER_FRAME_MALFORMED')
  })
})
