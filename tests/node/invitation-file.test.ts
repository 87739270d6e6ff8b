import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { InvitationRecord } from '../../mesh/index.js'
import { createInvitationFile } from '../../node/invitation-file.js'
import { createLogger, type Logger } from '../../node/logger.js'
import { tempDir } from '../support/temp-dir.js'

const record: InvitationRecord = {
  nonce: 'ab'.repeat(32),
  meshId: `m${'0'.repeat(32)}`,
  addresses: ['/ip4/127.0.0.1/tcp/4100'],
  role: 'witness',
  issuedAt: 1000,
  expiresAt: 901_000,
  used: false,
}

/** A real logger writing JSON lines into memory; `warnings` holds the parsed warn lines. */
function recordingLogger(): { logger: Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>
        if (entry.level === 40) warnings.push(entry)
      }
      done()
    },
  })
  return { logger: createLogger('info', sink), warnings }
}

describe('invitations.json', () => {
  it('keeps records across instances, in a file only its owner can read', () => {
    const path = join(tempDir(), 'invitations.json')
    const { logger } = recordingLogger()
    expect(createInvitationFile(path, logger).load()).toEqual([])
    createInvitationFile(path, logger).save([record, { ...record, nonce: 'cd'.repeat(32), role: 'member', used: true }])
    expect(createInvitationFile(path, logger).load()).toEqual([record, { ...record, nonce: 'cd'.repeat(32), role: 'member', used: true }])
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it.each([
    ['not JSON', '{"version": 1, "invitations": ['],
    ['another version', JSON.stringify({ version: 2, invitations: [] })],
    ['a bad nonce', JSON.stringify({ version: 1, invitations: [{ ...record, nonce: 'xyz' }] })],
    ['an unknown role', JSON.stringify({ version: 1, invitations: [{ ...record, role: 'leader' }] })],
    ['an unknown field', JSON.stringify({ version: 1, invitations: [{ ...record, secret: 'oops' }] })],
  ])('sets a file holding %s aside with a warning and starts with no invitations', (_what, text) => {
    const path = join(tempDir(), 'invitations.json')
    writeFileSync(path, text)
    const { logger, warnings } = recordingLogger()
    expect(createInvitationFile(path, logger).load()).toEqual([])
    expect(warnings.map((w) => w.code)).toEqual(['INVITATIONS_FILE_INVALID'])
    expect(existsSync(path)).toBe(false)
    expect(readFileSync(`${path}.bad`, 'utf8')).toBe(text)
  })
})
