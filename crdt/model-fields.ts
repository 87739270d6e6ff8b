/**
 * The checks every document model makes of the fields it is handed: ids, machine ids, times,
 * objects, and the string order models sort by. Each throws ModelInputInvalidError naming the
 * field and what it must be. A model's own fields (a topic, a cron expression, a display name)
 * are checked in its own file; only what several models share lives here.
 */
import { ModelInputInvalidError } from './errors.js'

/** Longest id a model accepts (an entry, a person, a run). */
export const MAX_ID_LENGTH = 256
/** Longest machine id a model accepts (an author, a runner). */
export const MAX_MACHINE_ID_LENGTH = 128
/** The last instant a Date can hold, in ms since the epoch. */
export const MAX_TIME_MS = 8.64e15

const MACHINE_ID = /^[A-Za-z0-9._-]+$/
/** C0 control characters and DEL: never in a name, a tag or any one-line field. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/

/** Code-unit order, the same on every machine (localeCompare is not). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function checkObject(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) throw new ModelInputInvalidError(field, 'must be an object')
}

export function checkId(id: unknown, field = 'id'): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new ModelInputInvalidError(field, `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`)
  }
}

export function checkMachineId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_MACHINE_ID_LENGTH || !MACHINE_ID.test(value)) {
    throw new ModelInputInvalidError(field, `must be a machine id: 1-${MAX_MACHINE_ID_LENGTH} characters of [A-Za-z0-9._-]`)
  }
  return value
}

export function checkTime(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIME_MS) {
    throw new ModelInputInvalidError(field, 'must be a time in milliseconds since the epoch')
  }
}
