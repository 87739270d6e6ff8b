/**
 * The CLI's client of a running node's HTTP API. It finds the node through run/node.json
 * and authenticates with api.token; it never reads a running node's other files.
 */
import { createSystemClock, type Clock } from '../runtime/index.js'
import { isErrorCode, NodeApiError, NodeBadResponseError, NodeNotRunningError, NodeUnreachableError } from './errors.js'
import { readToken } from './api-token.js'
import type { HomePaths } from './paths.js'
import { liveRunInfo, type RunInfo } from './run-state.js'

export interface ApiClient {
  readonly run: RunInfo
  get<T>(path: string, options?: { signal?: AbortSignal }): Promise<T>
  post<T>(path: string, body: unknown, options?: { signal?: AbortSignal }): Promise<T>
}

const systemClock = createSystemClock()

/** A client of the node running on this data directory; throws NODE_NOT_RUNNING when there is none. */
export function connectApi(paths: HomePaths, options: { timeoutMs?: number; clock?: Clock } = {}): ApiClient {
  const run = liveRunInfo(paths)
  if (run === null) throw new NodeNotRunningError(paths.home)
  const token = readToken(paths)
  const timeoutMs = options.timeoutMs ?? 10_000
  const clock = options.clock ?? systemClock

  const call = async <T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> => {
    let response: Response
    try {
      response = await fetch(`${run.api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: clock.timeoutSignal(timeoutMs, signal === undefined ? {} : { signal }),
      })
    } catch (err) {
      throw new NodeUnreachableError(`the node on ${paths.home} (pid ${run.pid}) does not answer at ${run.api}`, {
        cause: err,
      })
    }
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = text === '' ? {} : JSON.parse(text)
    } catch (err) {
      throw new NodeBadResponseError(response.status, `the node answered ${method} ${path} with something that is not JSON`, {
        cause: err,
      })
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error
      const code = typeof error?.code === 'string' && isErrorCode(error.code) ? error.code : 'NODE_API_ERROR'
      const message = typeof error?.message === 'string' ? error.message : `the node answered ${response.status}`
      throw new NodeApiError(code, response.status, message)
    }
    return parsed as T
  }

  return {
    run,
    get: (path, opts) => call('GET', path, undefined, opts?.signal),
    post: (path, body, opts) => call('POST', path, body, opts?.signal),
  }
}

/** Whether a node answers /health at this URL. */
export async function probeHealth(api: string, timeoutMs = 1000, clock: Clock = systemClock): Promise<boolean> {
  try {
    const response = await fetch(`${api}/health`, { signal: clock.timeoutSignal(timeoutMs) })
    return response.ok
  } catch {
    return false
  }
}
