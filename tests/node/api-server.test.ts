import { describe, expect, it, onTestFinished } from 'vitest'
import { createApiServer, type NodeStatus } from '../../node/api-server.js'
import { createLogger } from '../../node/logger.js'

const token = 'a'.repeat(64)
const status: NodeStatus = {
  running: true,
  pid: 1,
  peerId: 'peer',
  agent: null,
  role: 'node',
  machine: { name: 'm', fingerprint: 'f', priority: 0 },
  addresses: [],
  api: '',
  uptimeMs: 5,
  version: '0.0.0',
  repairs: [],
  sessions: null,
}

async function server(onStop: (reason: string) => void = () => undefined) {
  const api = createApiServer(
    { token, logger: createLogger('silent'), status: () => status, requestStop: onStop },
    { port: 0, version: '0.0.0' },
  )
  onTestFinished(() => api.stop())
  await api.start()
  return api
}

const auth = { authorization: `Bearer ${token}` }

describe('local HTTP API', () => {
  it('binds to 127.0.0.1 only', async () => {
    const api = await server()
    expect(api.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const address = api.fastify.server.address()
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1')
  })

  it('answers /health without a token', async () => {
    const api = await server()
    const response = await fetch(`${api.url()}/health`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true, version: '0.0.0' })
  })

  it('refuses /node without a token, and with a wrong or differently sized one', async () => {
    const api = await server()
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${'b'.repeat(64)}` }, { authorization: 'Bearer short' }, { authorization: token }]) {
      const response = await fetch(`${api.url()}/node`, { headers })
      expect(response.status).toBe(401)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('API_UNAUTHORIZED')
    }
  })

  it('returns the node status with the right token', async () => {
    const api = await server()
    const response = await fetch(`${api.url()}/node`, { headers: auth })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(status)
  })

  it('refuses a body that fails the schema with a 400 and a message, not a stack', async () => {
    const api = await server()
    const response = await fetch(`${api.url()}/node/stop`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 5, extra: true }),
    })
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('API_BAD_REQUEST')
    expect(body.error.message).not.toMatch(/at .*\.(ts|js):\d+/)
  })

  it('refuses malformed JSON with a 400', async () => {
    const api = await server()
    const response = await fetch(`${api.url()}/node/stop`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"reason": ',
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('API_BAD_REQUEST')
  })

  it('answers an unknown route with a JSON 404', async () => {
    const api = await server()
    const response = await fetch(`${api.url()}/nope`, { headers: auth })
    expect(response.status).toBe(404)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('API_NOT_FOUND')
  })

  it('asks the node to stop once the reply is sent', async () => {
    const reasons: string[] = []
    const api = await server((reason) => reasons.push(reason))
    const response = await fetch(`${api.url()}/node/stop`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'test' }),
    })
    expect(await response.json()).toEqual({ stopping: true })
    await expect.poll(() => reasons, { timeout: 5000 }).toEqual(['test'])
  })
})
