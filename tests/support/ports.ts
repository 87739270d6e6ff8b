/**
 * A TCP port for a test that must listen on the same port again after a stop (an inviter whose
 * invitation names its address, a daemon that asks for the port of its last run).
 *
 * A port from port 0 comes from the kernel's ephemeral range, which every other process on the
 * machine draws from too, for its own listeners and for each outgoing connection: on a busy
 * machine, another process can take it between the stop and the next listen. This one lies
 * below that range (net.ipv4.ip_local_port_range), where neither a port-0 listen nor an
 * outgoing connection ever lands, and was free when chosen.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

const LOWEST = 20_000

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (low !== undefined && Number.isInteger(low) && low > LOWEST + 1000) return low
  } catch {
    // not Linux: the range IANA gives for ephemeral ports, which macOS and Windows use
  }
  return 49_152
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A free port on 127.0.0.1 outside the ephemeral range, random so parallel runs rarely try the same one. */
export async function stablePort(): Promise<number> {
  const high = ephemeralStart()
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST))
    if (await free(port)) return port
  }
  throw new Error(`no free port found between ${LOWEST} and ${high}`)
}
