/** api.token: the bearer token of the local API, a 0600 file in the data directory. */
import { readFileSync, statSync } from 'node:fs'
import { NodeError } from './errors.js'
import type { HomePaths } from './paths.js'

/** The API token; refuses a missing, empty or world-readable one. */
export function readToken(paths: HomePaths): string {
  let text: string
  try {
    text = readFileSync(paths.apiToken, 'utf8').trim()
  } catch (err) {
    throw new NodeError('API_TOKEN_MISSING', `cannot read ${paths.apiToken}; run "instar init" again with --force`, { cause: err })
  }
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new NodeError('API_TOKEN_INVALID', `${paths.apiToken} does not hold a valid token (64 hex characters)`)
  }
  const mode = statSync(paths.apiToken).mode & 0o777
  if ((mode & 0o077) !== 0) {
    throw new NodeError(
      'API_TOKEN_PERMISSIONS',
      `${paths.apiToken} is readable by other users (mode ${mode.toString(8)}); run "chmod 600 ${paths.apiToken}"`,
    )
  }
  return text
}
