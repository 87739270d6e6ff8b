/**
 * The local HTTP API (fastify) on 127.0.0.1 only. `GET /health` is open; every other route
 * needs `Authorization: Bearer <api.token>`, compared in constant time. Every body and query
 * passes a schema; a bad one gets a 400 with a message, never a stack trace.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { PairingRefusedError, type StateRepair } from '../mesh/index.js'
import { ApiBadRequestError, ApiListenError, ApiNotFoundError, ApiUnauthorizedError, codeOf, httpStatusFor, isErrorCode, type NodeError } from './errors.js'

/** The body of every error answer. */
const errorBody = (err: NodeError): { error: { code: string; message: string } } => ({ error: { code: err.code, message: err.message } })

export interface NodeStatus {
  running: true
  pid: number
  peerId: string
  agent: { name: string; publicKey: string } | null
  /** 'witness' for a witness started by "instar relay start --witness". */
  role: 'node' | 'witness'
  machine: { name: string; fingerprint: string; priority: number }
  addresses: string[]
  api: string
  uptimeMs: number
  version: string
  /** Stored state this node found out of range and repaired as it started (e.g. an election term); [] normally. */
  repairs: StateRepair[]
  /** This machine's session runner (config sessions.*) and the claude it found; null on a witness. `claude` is null until checked. */
  sessions: {
    command: string
    model: string | null
    permissionMode: string | null
    maxConcurrent: number
    warmTtlMs: number
    timeoutMs: number
    claude: { installed: true; version: string } | { installed: false; error: string } | null
    running: number
    warm: number
    queued: number
  } | null
}

export interface ApiServerDeps {
  token: string
  logger: Logger
  status(): NodeStatus
  /** Begins a graceful shutdown; called after the reply is sent. */
  requestStop(reason: string): void
  /** Further route groups (mesh, memory, ...), registered after the core routes. */
  routes?: Array<(fastify: FastifyInstance) => void>
}

/**
 * Largest request line and headers, in bytes. Node's default of 16 KiB cut GET /memory/search
 * off (431, or a reset) long before the longest query the schema takes: 20,000 code units,
 * each at most 9 bytes once percent-encoded (a BMP character is up to 3 UTF-8 bytes; a pair
 * of surrogates, 4 bytes for 2 units). 256 KiB holds that with room for the other headers.
 */
export const API_MAX_HEADER_BYTES = 256 * 1024

export interface ApiServerOptions {
  port: number
  version: string
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number
  /** Largest request line and headers accepted, in bytes (default API_MAX_HEADER_BYTES). */
  maxHeaderSize?: number
}

export interface ApiServer {
  readonly fastify: FastifyInstance
  /** The base URL, e.g. http://127.0.0.1:41234 (known after start). */
  url(): string
  start(): Promise<void>
  stop(): Promise<void>
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

export function createApiServer(deps: ApiServerDeps, options: ApiServerOptions): ApiServer {
  const fastify = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    http: { maxHeaderSize: options.maxHeaderSize ?? API_MAX_HEADER_BYTES },
    return503OnClosing: true,
    forceCloseConnections: true,
    // Strict: no silent dropping of unknown fields, no coercing "5" into 5 or back. String
    // lengths in UTF-16 code units (unicode: false), as the models behind the routes count them,
    // so that a schema's maxLength and the model's limit are the same number. The route schemas
    // are ours and fixed: checking them against JSON Schema's meta-schema (validateSchema) made
    // Ajv compile that meta-schema at every start (README, "Node start and memory").
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, unicode: false, validateSchema: false } },
  })
  const expected = digest(deps.token)
  let baseUrl = ''
  let started = false

  fastify.addHook('onRequest', async (request, reply) => {
    if (request.url === '/health' || request.url.startsWith('/health?')) return
    const header = request.headers.authorization ?? ''
    const match = /^Bearer ([^\s]+)$/.exec(header)
    // Compare digests so length differences do not leak through timing either.
    if (match === null || !timingSafeEqual(digest(match[1] ?? ''), expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(new ApiUnauthorizedError()))
    }
  })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) {
      const problem = `${error.validationContext ?? 'request'} ${error.validation[0]?.instancePath ?? ''} ${error.validation[0]?.message ?? 'is not valid'}`
      return reply.code(400).send(errorBody(new ApiBadRequestError(problem.replace(/\s+/g, ' ').trim())))
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody(new ApiBadRequestError(error.message)))
    }
    const code = codeOf(error)
    const status = httpStatusFor(code)
    if (status === 502) return reply.code(502).send({ error: { code, message: error.message } })
    if (status >= 500) {
      deps.logger.error({ code, route: request.routeOptions.url, err: error }, 'api request failed')
      // A foreign error's code (an errno, a library's) is not API: it stays in the log.
      return reply.code(500).send({ error: { code: isErrorCode(code) ? code : 'INTERNAL', message: 'internal error; see the node log' } })
    }
    // A pairing refusal keeps the inviter's own code beside ours.
    const remote = error instanceof PairingRefusedError ? { remoteCode: error.remoteCode } : {}
    return reply.code(status).send({ error: { code, message: error.message, ...remote } })
  })

  fastify.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(new ApiNotFoundError(request.method, request.url.split('?')[0] ?? '')))
  })

  fastify.get('/health', async () => ({ ok: true, version: options.version }))

  fastify.get('/node', async () => deps.status())

  fastify.post(
    '/node/stop',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', maxLength: 200 } },
        },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as { reason?: string }
      reply.raw.once('finish', () => deps.requestStop(body.reason ?? 'api request'))
      return { stopping: true }
    },
  )

  for (const register of deps.routes ?? []) register(fastify)

  return {
    fastify,
    url: () => baseUrl,
    async start() {
      try {
        await fastify.listen({ host: '127.0.0.1', port: options.port })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        throw new ApiListenError(
          options.port,
          code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : (err as Error).message,
          { cause: err },
        )
      }
      started = true
      const address = fastify.server.address()
      const port = typeof address === 'object' && address !== null ? address.port : options.port
      baseUrl = `http://127.0.0.1:${port}`
    },
    async stop() {
      if (!started) return
      started = false
      await fastify.close()
    },
  }
}
