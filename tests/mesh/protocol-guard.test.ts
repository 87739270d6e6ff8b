/**
 * Why protocol-guard.ts reaches into libp2p's private `components.registrar`, pinned.
 *
 * The guard must wrap the handlers identify and ping registered, so that a stranger's stream
 * to them is reset. libp2p's public API has no way to read a registered handler, and its
 * public `use()` middleware cannot stand in: in libp2p 3.3.11 each inbound stream appends the
 * handler to the middleware array kept for its protocol, so the array grows by one with every
 * stream and the handler runs once more each time. A topology sees connections, not streams,
 * and the connection gater cannot tell a protocol from another.
 *
 * These tests fail when any of that changes: a new libp2p version (re-check, then pin it here),
 * the private handler lookup gone (the guard would silently guard nothing), or `use()` fixed
 * (then use it, and drop the private access).
 */
import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createMeshHost, type MeshHost } from '../../mesh/index.js'
import { waitFor } from '../support/wait-for.js'

const PINNED_LIBP2P = '3.3.11'

interface Internals {
  components: {
    registrar: {
      getHandler(protocol: string): { handler: unknown; options: unknown }
      getMiddleware(protocol: string): unknown[]
    }
  }
}

async function startedHost(seedByte: number): Promise<MeshHost> {
  const host = await createMeshHost({ seed: new Uint8Array(32).fill(seedByte) }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
  onTestFinished(() => host.stop())
  await host.start()
  return host
}

describe(`protocol guard's private registrar access (libp2p ${PINNED_LIBP2P})`, () => {
  it('runs on the libp2p version whose internals were checked', () => {
    const installed = (JSON.parse(readFileSync(new URL('../../node_modules/libp2p/package.json', import.meta.url), 'utf8')) as { version: string }).version
    expect(installed, 're-check the reasons in this file against the new libp2p, then update PINNED_LIBP2P').toBe(PINNED_LIBP2P)
  })

  it('finds the handler identify and ping registered through the private registrar', async () => {
    const host = await startedHost(41)
    const registrar = (host.libp2p as unknown as Internals).components.registrar
    for (const protocol of ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0']) {
      expect(typeof registrar.getHandler(protocol).handler, protocol).toBe('function')
    }
  })

  it('still grows the public use() middleware by one with every inbound stream, so use() cannot wrap a handler', async () => {
    const a = await startedHost(42)
    const b = await startedHost(43)
    const protocol = '/instar/test-use-pin/1.0.0'
    let calls = 0
    await a.libp2p.handle(protocol, (stream: Stream) => {
      calls++
      stream.abort(new Error('done'))
    })
    a.libp2p.use(protocol, [])
    const address = multiaddr(a.addresses()[0] ?? '')
    for (let i = 1; i <= 2; i++) {
      const stream = await b.libp2p.dialProtocol(address, protocol)
      await waitFor(() => calls >= i, { timeoutMs: 10_000, what: `stream ${i} handled` })
      stream.abort(new Error('done'))
    }
    const middleware = (a.libp2p as unknown as Internals).components.registrar.getMiddleware(protocol)
    expect(middleware.length, 'libp2p no longer appends to the middleware array: switch protocol-guard.ts to libp2p.use()').toBe(2)
  })
})
