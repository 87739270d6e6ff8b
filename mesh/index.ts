/**
 * mesh: the libp2p host of one machine (TCP, Noise, yamux, identify, ping) and the Clock
 * port every timed part of instar uses. Pairing, the roster gater, the failure detector
 * and leader election grow here.
 *
 *   const host = await createMeshHost({ seed }, { listen: ['/ip4/127.0.0.1/tcp/0'] })
 *   await host.start()
 *   console.log(host.peerId.toString(), host.addresses())
 */
export { createMeshHost, peerIdFromSeed } from './host.js'
export type { MeshHost, MeshHostDeps, MeshHostOptions, MeshLibp2p } from './host.js'
export { createManualClock, createSystemClock } from './clock.js'
export type { Clock, ManualClock, TimerHandle } from './clock.js'
export { MeshAddressInvalidError, MeshError, MeshListenError } from './errors.js'
