/** The field checks the document models share (crdt/model-fields.ts). */
import { describe, expect, it } from 'vitest'
import { ModelInputInvalidError } from '../../crdt/errors.js'
import { MAX_ID_LENGTH, MAX_MACHINE_ID_LENGTH, MAX_TIME_MS, checkId, checkMachineId, checkObject, checkTime, compareStrings } from '../../crdt/model-fields.js'

function refusal(fn: () => unknown): { code: string; field: string } {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ModelInputInvalidError)
    return { code: (err as ModelInputInvalidError).code, field: (err as ModelInputInvalidError).field }
  }
  throw new Error('expected a refusal')
}

describe('model fields', () => {
  it('accepts ids of 1 to MAX_ID_LENGTH characters and names the field it refuses', () => {
    checkId('a')
    checkId('x'.repeat(MAX_ID_LENGTH))
    expect(refusal(() => checkId(''))).toEqual({ code: 'CRDT_INPUT_INVALID', field: 'id' })
    expect(refusal(() => checkId('x'.repeat(MAX_ID_LENGTH + 1), 'personId')).field).toBe('personId')
    expect(refusal(() => checkId(7)).field).toBe('id')
  })

  it('accepts machine ids of [A-Za-z0-9._-] up to MAX_MACHINE_ID_LENGTH and returns them', () => {
    expect(checkMachineId('laptop-1.home_a', 'author')).toBe('laptop-1.home_a')
    expect(refusal(() => checkMachineId('x'.repeat(MAX_MACHINE_ID_LENGTH + 1), 'author')).field).toBe('author')
    expect(refusal(() => checkMachineId('has space', 'runner')).field).toBe('runner')
    expect(refusal(() => checkMachineId('', 'runner')).field).toBe('runner')
  })

  it('accepts times from 0 to the last instant a Date holds', () => {
    checkTime(0, 'at')
    checkTime(MAX_TIME_MS, 'at')
    for (const bad of [-1, MAX_TIME_MS + 1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
      expect(refusal(() => checkTime(bad, 'createdAt')).field).toBe('createdAt')
    }
  })

  it('accepts objects and arrays, and refuses null and scalars', () => {
    checkObject({}, 'patch')
    checkObject([], 'patch')
    for (const bad of [null, undefined, 1, 'x']) expect(refusal(() => checkObject(bad, 'patch')).field).toBe('patch')
  })

  it('orders strings by code unit, not by locale', () => {
    expect(['b', 'B', 'a', 'é', 'e'].sort(compareStrings)).toEqual(['B', 'a', 'b', 'e', 'é'])
    expect(compareStrings('same', 'same')).toBe(0)
  })
})
