/**
 * Strangers on loopback, for the hostile suites: TCP sockets that connect and never speak,
 * bare libp2p nodes with fresh keys dialling from their own loopback address (127.0.0.2 and
 * up, which Linux routes to the loopback interface, so per-IP quotas can be reached), and a
 * fresh dial that says whether a member still gets in. Everything is closed when the test ends.
 */
import { connect, type Socket } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { onTestFinished } from 'vitest'
import { createSystemClock } from '../../runtime/index.js'
import type { TestNode } from './mesh-nodes.js'

const clock = createSystemClock()

export const addressOf = (node: TestNode): Multiaddr => multiaddr(node.mesh.host.addresses()[0] ?? '')
export const portOf = (address: string): number => Number(/\/tcp\/(\d+)/.exec(address)?.[1])

/** TCP sockets that connect and never say a word (or only `say`), closed when the test ends. */
export async function rawSockets(port: number, count: number, options: { localAddress?: string; say?: string } = {}): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) })
          onTestFinished(() => void socket.destroy())
          socket.on('error', () => undefined)
          socket.once('connect', () => {
            if (options.say !== undefined) socket.write(options.say)
            resolve(socket)
          })
          socket.once('close', () => reject(new Error('closed before it connected')))
        }),
    ),
  )
  return sockets
}

export const closed = (socket: Socket): boolean => socket.closed || socket.destroyed || socket.readyState === 'closed'

/** A fresh connection from `from` to `to` (never an existing one); true when it opened. */
export async function freshDial(from: TestNode, to: Multiaddr): Promise<boolean> {
  try {
    const connection = await from.mesh.host.libp2p.dial(to, { force: true, signal: clock.timeoutSignal(10_000) })
    const open = connection.status === 'open'
    await connection.close().catch(() => undefined)
    return open
  } catch {
    return false
  }
}

/** A bare libp2p node with a fresh key, and nothing else of a polite peer, that dials from `localAddress`; stopped when the test ends. */
export async function stranger(localAddress: string): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: [] },
    // localAddress is passed through to net.connect, which the option type does not list.
    transports: [tcp({ dialOpts: { localAddress } as object })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A hostile peer does not hang up on itself when the node refuses its pings.
    connectionMonitor: { enabled: false },
  })
  onTestFinished(() => node.stop())
  await node.start()
  return node
}

export interface HeldStranger {
  node: Libp2p
  connection: Connection
  ip: string
}

/** Dials `target` as `count` strangers, `perIp` of them from each of 127.0.0.2, .3, ... (from `firstIp` on); the ones admitted are kept connected. */
export async function strangerFlood(target: Multiaddr, count: number, perIp: number, firstIp = 2): Promise<{ held: HeldStranger[]; refused: number }> {
  const held: HeldStranger[] = []
  let refused = 0
  const batch = 25
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async (_, i) => {
        const ip = `127.0.0.${firstIp + Math.floor((start + i) / perIp)}`
        const node = await stranger(ip)
        try {
          const connection = await node.dial(target, { signal: clock.timeoutSignal(10_000) })
          held.push({ node, connection, ip })
        } catch {
          refused++
          await node.stop()
        }
      }),
    )
  }
  return { held, refused }
}
