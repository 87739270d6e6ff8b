/** Frames over a real libp2p stream pair (@libp2p/utils streamPair, yamux-free): limits on the frame and on its length prefix. */
import { streamPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { frameStream } from '../../mesh/frame-stream.js'

describe('frameStream', () => {
  it('refuses a length prefix that never ends as soon as it is longer than the limit needs, without waiting for the stream to end', async () => {
    const [outbound, inbound] = await streamPair()
    const reader = frameStream(inbound, 1024)
    const read = reader.read()
    // 1024 needs a 2-byte varint: the third continuation byte is one too many. The stream stays open.
    outbound.send(new Uint8Array(64).fill(0xff))
    await expect(read).rejects.toMatchObject({ name: 'InvalidDataLengthLengthError' })
    expect(outbound.status).toBe('open')
    outbound.abort(new Error('done'))
  })

  it('refuses a prefix that claims a frame over the limit', async () => {
    const [outbound, inbound] = await streamPair()
    const reader = frameStream(inbound, 1024)
    const read = reader.read()
    outbound.send(Uint8Array.of(0x81, 0x08)) // 1025
    await expect(read).rejects.toMatchObject({ name: 'InvalidDataLengthError' })
    outbound.abort(new Error('done'))
  })

  it('reads frames up to the limit, including the longest prefix the limit allows', async () => {
    const [outbound, inbound] = await streamPair()
    const writer = frameStream(outbound, 1024)
    const reader = frameStream(inbound, 1024)
    const big = new Uint8Array(1024).fill(7)
    await writer.write(Uint8Array.of(1, 2, 3))
    await writer.write(big)
    expect([...(await reader.read())]).toEqual([1, 2, 3])
    expect(await reader.read()).toEqual(big)
    await writer.close()
    await reader.remoteClosed()
    outbound.abort(new Error('done'))
  })
})
