/**
 * The libp2p host: TCP, Noise, yamux, identify and ping, keyed by the machine seed so
 * that one secret is one machine (the peer id is derived from the machine key).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createServer } from 'node:net'
import { createLibp2p } from 'libp2p'
import { resolveAdmissionOptions, type AdmissionOptions } from './admission.js'
import { MeshAddressInvalidError, MeshListenError } from './errors.js'

export interface MeshHostDeps {
  /** The machine's 32-byte Ed25519 seed. */
  seed: Uint8Array
  /** Decides which peers and connections are admitted; the pairing issue fills it from the roster. */
  connectionGater?: ConnectionGater
}

export interface MeshHostOptions {
  /** Multiaddrs to listen on; `/ip4/127.0.0.1/tcp/0` picks a free port. */
  listen: string[]
  /** Agent version announced by identify. */
  agentVersion?: string
  /** LAN discovery by multicast DNS. */
  mdns?: boolean
  /** Limits on inbound handshakes and strangers; the gater enforces them, libp2p's own knobs back them up. */
  admission?: AdmissionOptions
}

export type MeshLibp2p = Libp2p<{ identify: unknown; ping: Ping }>

export interface MeshHost {
  readonly peerId: PeerId
  readonly libp2p: MeshLibp2p
  /** The addresses this host actually listens on (ports resolved), with the peer id. */
  addresses(): string[]
  start(): Promise<void>
  stop(): Promise<void>
}

/** The libp2p peer id that a machine seed gives, without starting anything. */
export async function peerIdFromSeed(seed: Uint8Array): Promise<PeerId> {
  const key = await generateKeyPairFromSeed('Ed25519', seed)
  return peerIdFromPrivateKey(key)
}

export async function createMeshHost(deps: MeshHostDeps, options: MeshHostOptions): Promise<MeshHost> {
  for (const address of options.listen) {
    try {
      multiaddr(address)
    } catch (err) {
      throw new MeshAddressInvalidError(address, { cause: err })
    }
  }
  const privateKey = await generateKeyPairFromSeed('Ed25519', deps.seed)
  const limits = resolveAdmissionOptions(options.admission)
  const libp2p = (await createLibp2p({
    privateKey,
    start: false,
    addresses: { listen: options.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    peerDiscovery: options.mdns === true ? [mdns()] : [],
    // The gater does the real admission (admission.ts): handshake slots per IP with eviction,
    // strangers' quota, handshake deadline on our clock. libp2p's own checks run before it and
    // do not know a member from a stranger, so they are set as backstops only: its pending
    // limit refuses every newcomer once full (100 silent sockets shut members out at 32), so it
    // sits well above the gater's; its upgrade timeout (real time) above the gater's deadline.
    // Its per-IP rate (default 5 a second) counts every machine behind one address as one.
    connectionManager: {
      inboundConnectionThreshold: limits.connectionsPerIpPerSecond,
      maxIncomingPendingConnections: limits.pendingTotal * 4,
      inboundUpgradeTimeout: limits.handshakeTimeoutMs * 2,
    },
    streamMuxers: [yamux()],
    ...(deps.connectionGater === undefined ? {} : { connectionGater: deps.connectionGater }),
    nodeInfo: { userAgent: options.agentVersion ?? 'instar' },
    services: {
      identify: identify(),
      ping: ping(),
    },
  })) as unknown as MeshLibp2p

  let started = false
  let stopping: Promise<void> | null = null

  return {
    peerId: libp2p.peerId,
    libp2p,
    addresses: () => libp2p.getMultiaddrs().map((ma) => ma.toString()),
    async start() {
      if (started) return
      try {
        await libp2p.start()
      } catch (err) {
        // The start's error is the one thrown; a stop that fails after a failed start adds
        // nothing a person could act on (and the host has no logger to put it in).
        await Promise.resolve(libp2p.stop()).catch(() => undefined)
        throw new MeshListenError(options.listen, await describeListenFailure(err, options.listen), { cause: err })
      }
      started = true
    },
    stop() {
      if (!started) return Promise.resolve()
      const pending =
        stopping ??
        Promise.resolve(libp2p.stop()).finally(() => {
          started = false
          stopping = null
        })
      stopping = pending
      return pending
    },
  }
}

const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'the address is not available on this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
}

/**
 * Says why listening failed, from an errno `code`, never from message text: the code of the
 * error or of one it wraps, else (libp2p 3 folds the socket's error into the text of its
 * UnsupportedListenAddressesError and drops it) the code a plain bind of each address gets now.
 */
async function describeListenFailure(err: unknown, listen: string[]): Promise<string> {
  const codes = errorCodes(err)
  for (const address of listen) {
    const code = await bindErrorCode(address)
    if (code !== undefined) codes.push(code)
  }
  for (const code of codes) {
    const reason = LISTEN_FAILURES[code]
    if (reason !== undefined) return reason
  }
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error'
}

/** The errno code binding a TCP listen address gets (undefined if it binds, or is not ip/tcp); the socket is closed at once. */
function bindErrorCode(address: string): Promise<string | undefined> {
  const [ip, port] = multiaddr(address).getComponents()
  if (ip === undefined || port === undefined || (ip.name !== 'ip4' && ip.name !== 'ip6') || port.name !== 'tcp') return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code))
    server.listen({ host: ip.value, port: Number(port.value), exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

/** The `code` of an error and of the errors it wraps (`cause`, an AggregateError's `errors`), a bounded walk. */
function errorCodes(err: unknown): string[] {
  const codes: string[] = []
  const queue: unknown[] = [err]
  for (let seen = 0; queue.length > 0 && seen < 16; seen++) {
    const current = queue.shift()
    if (current === null || typeof current !== 'object') continue
    const { code, cause, errors } = current as { code?: unknown; cause?: unknown; errors?: unknown }
    if (typeof code === 'string') codes.push(code)
    if (cause !== undefined) queue.push(cause)
    if (Array.isArray(errors)) queue.push(...errors)
  }
  return codes
}
