import { describe, expect, it } from 'vitest'
import { boundPorts, parseRememberedPorts, withRememberedPorts } from '../../node/listen-ports.js'

describe('remembered listen ports', () => {
  it('asks for the remembered port of a port-0 address, and leaves fixed ports and other addresses alone', () => {
    expect(
      withRememberedPorts(['/ip4/0.0.0.0/tcp/0', '/ip4/127.0.0.1/tcp/4100', '/ip6/::/tcp/0'], { '/ip4/0.0.0.0/tcp/0': 40123, '/ip4/127.0.0.1/tcp/4100': 1 }),
    ).toEqual(['/ip4/0.0.0.0/tcp/40123', '/ip4/127.0.0.1/tcp/4100', '/ip6/::/tcp/0'])
  })

  it('reads the port each port-0 address got from the host\'s bound addresses, by family and host', () => {
    const bound = ['/ip4/127.0.0.1/tcp/40123/p2p/12D3KooW', '/ip4/10.0.0.5/tcp/40123/p2p/12D3KooW', '/ip6/::1/tcp/40200/p2p/12D3KooW']
    expect(boundPorts(['/ip4/0.0.0.0/tcp/0', '/ip6/::/tcp/0', '/ip4/127.0.0.1/tcp/4100'], bound)).toEqual({
      '/ip4/0.0.0.0/tcp/0': 40123,
      '/ip6/::/tcp/0': 40200,
    })
    expect(boundPorts(['/ip4/10.0.0.5/tcp/0'], bound)).toEqual({ '/ip4/10.0.0.5/tcp/0': 40123 })
    expect(boundPorts(['/ip4/10.9.9.9/tcp/0'], bound)).toEqual({})
  })

  it('treats anything but a JSON object of valid ports as no memory', () => {
    expect(parseRememberedPorts(undefined)).toEqual({})
    expect(parseRememberedPorts('not json')).toEqual({})
    expect(parseRememberedPorts('[1,2]')).toEqual({})
    expect(parseRememberedPorts('{"a": 0, "b": 70000, "c": 1.5, "d": "80", "e": 4100}')).toEqual({ e: 4100 })
  })
})
