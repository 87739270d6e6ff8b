/** api.token: the bearer token of the local API, a 0600 file in the data directory. */
import { readFileSync, statSync } from 'node:fs'
import { ApiTokenInvalidError, ApiTokenMissingError, ApiTokenPermissionsError } from './errors.js'
import type { HomePaths } from './paths.js'

/** The API token; refuses a missing, empty or world-readable one. */
export function readToken(paths: HomePaths): string {
  let text: string
  try {
    text = readFileSync(paths.apiToken, 'utf8').trim()
  } catch (err) {
    throw new ApiTokenMissingError(paths.apiToken, { cause: err })
  }
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new ApiTokenInvalidError(paths.apiToken)
  }
  const mode = statSync(paths.apiToken).mode & 0o777
  if ((mode & 0o077) !== 0) {
    throw new ApiTokenPermissionsError(paths.apiToken, mode)
  }
  return text
}
