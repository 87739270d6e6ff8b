import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createMeshHost, peerIdFromSeed, type MeshHost } from '../../mesh/index.js'

async function startedHost(seedByte: number, listen = ['/ip4/127.0.0.1/tcp/0']): Promise<MeshHost> {
  const host = await createMeshHost({ seed: new Uint8Array(32).fill(seedByte) }, { listen })
  onTestFinished(() => host.stop())
  await host.start()
  return host
}

describe('mesh host', () => {
  it('derives its peer id from the machine seed, the same every time', async () => {
    const host = await startedHost(1)
    expect(host.peerId.toString()).toBe((await peerIdFromSeed(new Uint8Array(32).fill(1))).toString())
    expect(host.peerId.toString()).not.toBe((await peerIdFromSeed(new Uint8Array(32).fill(2))).toString())
  })

  it('listens on a free loopback port and answers ping over Noise and yamux', async () => {
    const a = await startedHost(3)
    const b = await startedHost(4)
    const address = a.addresses()[0]
    expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    const rtt = await b.libp2p.services.ping.ping(multiaddr(address ?? ''))
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(b.libp2p.getConnections(a.peerId)).toHaveLength(1)
  })

  it('refuses a port in use with a typed error naming the address', async () => {
    const a = await startedHost(5)
    const port = (a.addresses()[0] ?? '').split('/')[4]
    const clash = await createMeshHost({ seed: new Uint8Array(32).fill(6) }, { listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    onTestFinished(() => clash.stop())
    await expect(clash.start()).rejects.toMatchObject({ code: 'MESH_LISTEN_FAILED', message: expect.stringContaining('already in use') })
  })

  it('refuses a listen address that is not a multiaddr', async () => {
    await expect(createMeshHost({ seed: new Uint8Array(32).fill(7) }, { listen: ['localhost:80'] })).rejects.toMatchObject({
      code: 'MESH_ADDRESS_INVALID',
    })
  })

  it('stops idempotently', async () => {
    const a = await startedHost(8)
    await a.stop()
    await a.stop()
    expect(a.libp2p.status).toBe('stopped')
  })
})
