/**
 * `instar mesh status` (text and JSON, through the real daemon's HTTP API) shows a member
 * whose sync fails, and why, and its backoff: a real node process, and a hostile in-process
 * member that holds valid keys and sends tampered updates on a sync stream of its own.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SYNC_PROTOCOL, encodeSyncMessage, sealUpdate } from '../../crdt/index.js'
import { frameStream } from '../../mesh/index.js'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { startTestNode } from '../support/mesh-nodes.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

interface StatusPeer {
  name: string
  sync: { state: string; reason: string | null; docs: Record<string, { failure: { code: string; reason: string } | null }>; refused: Record<string, number>; backoff: { until: string; times: number; reason: string } | null } | null
}

describe('mesh status and a failing member', () => {
  it('shows a member whose updates are refused as failing, with the reason, and then as backed off', { timeout: 120_000 }, async () => {
    const home = join(tempDir(), 'alpha')
    expect((await runInstar(['init', '--home', home, '--name', 'alpha', '--agent', 'kira'])).code).toBe(0)
    cleanupNodeOnFinish(home)
    const started = await runInstar(['node', 'start', '--home', home, '--detach', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(started.code, started.stderr).toBe(0)
    const made = await runInstar(['mesh', 'pair', '--home', home, '--json'])
    const { invitation } = lastJson<{ invitation: string }>(made.stdout)

    const hostile = await startTestNode({ name: 'hostile' })
    await hostile.mesh.join(invitation)
    const alpha = await waitFor(() => hostile.mesh.connectedMembers()[0], { timeoutMs: 30_000, what: 'the hostile member connected' })
    // Takes alpha's own sync stream and never reads it, so alpha's side of the link is up.
    await hostile.mesh.handle(SYNC_PROTOCOL, () => undefined)
    const frames = frameStream(await hostile.mesh.openStream(alpha, SYNC_PROTOCOL), 1024 * 1024)
    const key = hostile.mesh.meshKeys().at(-1)
    if (key === undefined) throw new Error('no mesh key')
    const tampered = (): Uint8Array => {
      const sealed = sealUpdate(key, hostile.mesh.status().meshId ?? '', 'memory', Uint8Array.of(0, 0))
      sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1
      return sealed
    }
    const status = async (): Promise<{ json: StatusPeer | undefined; text: string }> => {
      const json = await runInstar(['mesh', 'status', '--home', home, '--json'])
      const text = await runInstar(['mesh', 'status', '--home', home])
      return { json: lastJson<{ peers: StatusPeer[] }>(json.stdout).peers.find((p) => p.name === 'hostile'), text: text.stdout }
    }

    await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: tampered() }))
    const failing = await waitFor(async () => {
      const s = await status()
      return s.json?.sync?.state === 'failing' ? s : null
    }, { timeoutMs: 30_000, what: 'alpha to show the hostile member failing' })
    expect(failing.json?.sync?.reason).toBe('memory: SYNC_UPDATE_REJECTED (auth-failed)')
    expect(failing.json?.sync?.docs.memory?.failure).toMatchObject({ code: 'SYNC_UPDATE_REJECTED', reason: 'auth-failed' })
    expect(failing.json?.sync?.refused).toEqual({ SYNC_UPDATE_REJECTED: 1 })
    expect(failing.text).toMatch(/hostile {2}sync failing: memory: SYNC_UPDATE_REJECTED \(auth-failed\)\n {6}documents syncing\n {6}1 refused \(SYNC_UPDATE_REJECTED\)\n/)

    // Nine more: ten within a minute is the default limit.
    for (let i = 0; i < 9; i++) await frames.write(encodeSyncMessage({ type: 'update', doc: 'memory', sealed: tampered() })).catch(() => undefined)
    const off = await waitFor(async () => {
      const s = await status()
      return s.json?.sync?.state === 'backoff' ? s : null
    }, { timeoutMs: 30_000, what: 'alpha to show the hostile member backed off' })
    expect(off.json?.sync?.backoff).toMatchObject({ times: 1, reason: 'SYNC_UPDATE_REJECTED (auth-failed) on memory' })
    expect(Date.parse(off.json?.sync?.backoff?.until ?? '')).toBeGreaterThan(0)
    expect(off.text).toMatch(/hostile {2}sync off for \d+s more \(backoff 1\): SYNC_UPDATE_REJECTED \(auth-failed\) on memory/)
  })
})
