/**
 * A node whose config listens on port 0 (the default) gets a new port on every start, which
 * makes every address the others hold for it stale, and every invitation it made unusable,
 * across a restart. So the daemon remembers the port each such address got and asks for it
 * again next time; if it is taken, the daemon falls back to the configured address.
 */
import { multiaddr } from '@multiformats/multiaddr'

/** configured listen address → the TCP port it was bound to last time. */
export type RememberedPorts = Record<string, number>

/** The configured addresses with port 0 replaced by the port remembered for them, if any. */
export function withRememberedPorts(listen: string[], remembered: RememberedPorts): string[] {
  return listen.map((address) => {
    const port = remembered[address]
    const parts = tcpZero(address)
    return parts === null || port === undefined ? address : `/${parts.family}/${parts.host}/tcp/${port}`
  })
}

/** For each configured port-0 address, the port the host got (from its listening addresses). */
export function boundPorts(listen: string[], bound: string[]): RememberedPorts {
  const ports: RememberedPorts = {}
  for (const address of listen) {
    const parts = tcpZero(address)
    if (parts === null) continue
    for (const candidate of bound) {
      const match = new RegExp(`^/${parts.family}/([^/]+)/tcp/(\\d+)`).exec(candidate)
      if (match === null) continue
      if (parts.host !== (parts.family === 'ip4' ? '0.0.0.0' : '::') && match[1] !== parts.host) continue
      ports[address] = Number(match[2])
      break
    }
  }
  return ports
}

/** Parses what state.db keeps (JSON of address → port); anything else counts as no memory at all. */
export function parseRememberedPorts(text: string | undefined): RememberedPorts {
  if (text === undefined) return {}
  try {
    const value: unknown = JSON.parse(text)
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return {}
    const ports: RememberedPorts = {}
    for (const [address, port] of Object.entries(value)) {
      if (Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536) ports[address] = port as number
    }
    return ports
  } catch {
    return {}
  }
}

function tcpZero(address: string): { family: 'ip4' | 'ip6'; host: string } | null {
  let components: Array<{ name: string; value?: string }>
  try {
    components = multiaddr(address).getComponents()
  } catch {
    return null
  }
  const [ip, tcp] = components
  if (components.length !== 2 || ip === undefined || tcp === undefined || tcp.name !== 'tcp' || tcp.value !== '0') return null
  if ((ip.name !== 'ip4' && ip.name !== 'ip6') || ip.value === undefined) return null
  return { family: ip.name, host: ip.value }
}
