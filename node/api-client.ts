/**
 * The CLI's client of a running node's HTTP API. It finds the node through run/node.json
 * and authenticates with api.token; it never reads a running node's other files.
 *
 * It speaks HTTP through node:http rather than fetch: Node loads fetch's implementation
 * (undici) on first use, which costs a CLI command more than the whole rest of its work.
 */
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { createSystemClock, type Clock } from '../runtime/index.js'
import { HomeNotInitializedError, isErrorCode, NodeApiError, NodeBadResponseError, NodeNotRunningError, NodeUnreachableError } from './errors.js'
import { readToken } from './api-token.js'
import type { HomePaths } from './paths.js'
import { liveRunInfo, type RunInfo } from './run-state.js'

export interface ApiClient {
  readonly run: RunInfo
  get<T>(path: string, options?: { signal?: AbortSignal }): Promise<T>
  post<T>(path: string, body: unknown, options?: { signal?: AbortSignal }): Promise<T>
}

const systemClock = createSystemClock()

/** The most of an answer the client reads (a search answer of 100 long entries fits). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024

interface RawResponse {
  status: number
  text: string
}

/** One request; rejects on a network failure, an abort, or an answer over MAX_RESPONSE_BYTES. */
function send(url: string, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // agent: false: one connection per request, closed after it (a CLI command makes one or two).
    const req = request(url, { method, headers, signal, agent: false }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`the answer is over ${MAX_RESPONSE_BYTES} bytes`))
          return
        }
        chunks.push(chunk)
      })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end(body)
  })
}

/**
 * A client of the node running on this data directory; throws NODE_NOT_RUNNING when there is
 * none, and HOME_NOT_INITIALIZED (whose hint is "instar init") when the directory is not one.
 */
export function connectApi(paths: HomePaths, options: { timeoutMs?: number; clock?: Clock } = {}): ApiClient {
  const run = liveRunInfo(paths)
  if (run === null) {
    if (!existsSync(paths.config) && !existsSync(paths.machineKey)) throw new HomeNotInitializedError(paths.home)
    throw new NodeNotRunningError(paths.home)
  }
  const token = readToken(paths)
  const timeoutMs = options.timeoutMs ?? 10_000
  const clock = options.clock ?? systemClock

  const call = async <T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (payload !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(payload))
    }
    let response: RawResponse
    try {
      response = await send(`${run.api}${path}`, method, headers, payload, clock.timeoutSignal(timeoutMs, signal === undefined ? {} : { signal }))
    } catch (err) {
      throw new NodeUnreachableError(`the node on ${paths.home} (pid ${run.pid}) does not answer at ${run.api}`, {
        cause: err,
      })
    }
    let parsed: unknown
    try {
      parsed = response.text === '' ? {} : JSON.parse(response.text)
    } catch (err) {
      throw new NodeBadResponseError(response.status, `the node answered ${method} ${path} with something that is not JSON`, {
        cause: err,
      })
    }
    if (response.status < 200 || response.status > 299) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error
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
    const response = await send(`${api}/health`, 'GET', {}, undefined, clock.timeoutSignal(timeoutMs))
    return response.status === 200
  } catch {
    return false
  }
}
