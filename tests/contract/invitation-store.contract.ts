/**
 * The contract of mesh's InvitationStore port, run against every implementation: `save`
 * replaces every record, `load` gives them back as saved, in order. A store that keeps its
 * records as bytes (a file) also refuses damaged bytes: it loads no invitation and warns with
 * INVITATIONS_FILE_INVALID rather than failing the node's start.
 */
import { describe, expect, it } from 'vitest'
import type { InvitationRecord, InvitationStore } from '../../mesh/index.js'
import { recordingLogger, type RecordingLogger } from '../support/recording-logger.js'

export interface InvitationStoreSubject {
  /** A new store that holds nothing yet; `logger` gets what it logs. */
  open(logger: RecordingLogger): InvitationStore
  /** Closes `store` and opens what it stored again; only a store that outlives its process has it. */
  reopen?(store: InvitationStore, logger: RecordingLogger): InvitationStore
  /** A second handle on what `store` stores. */
  share?(store: InvitationStore, logger: RecordingLogger): InvitationStore
  /** A store opened over `text` where it keeps its records, as a damaged disk left it; only a store of bytes has it. */
  openDamaged?(text: string, logger: RecordingLogger): InvitationStore
}

export const sampleRecord: InvitationRecord = {
  nonce: 'ab'.repeat(32),
  meshId: `m${'0'.repeat(32)}`,
  addresses: ['/ip4/127.0.0.1/tcp/4100'],
  role: 'member',
  issuedAt: 1000,
  expiresAt: 901_000,
  used: false,
}
const other: InvitationRecord = { ...sampleRecord, nonce: 'cd'.repeat(32), role: 'witness', addresses: [], used: true }
const third: InvitationRecord = { ...sampleRecord, nonce: 'ef'.repeat(32), issuedAt: 5000, expiresAt: 6000 }

export function runInvitationStoreContract(name: string, subject: InvitationStoreSubject): void {
  describe(`InvitationStore contract: ${name}`, () => {
    it('loads a store that holds nothing as no invitations, with no warning', () => {
      const logger = recordingLogger()
      expect(subject.open(logger).load()).toEqual([])
      expect(logger.codes()).toEqual([])
    })

    it('loads the records as saved, in the order saved', () => {
      const store = subject.open(recordingLogger())
      store.save([third, sampleRecord, other])
      expect(store.load()).toEqual([third, sampleRecord, other])
    })

    it('replaces every record at each save, down to none', () => {
      const store = subject.open(recordingLogger())
      store.save([sampleRecord, other])
      store.save([{ ...other, used: false }])
      expect(store.load()).toEqual([{ ...other, used: false }])
      store.save([])
      expect(store.load()).toEqual([])
    })

    it('keeps what it stored when the caller changes records it saved or loaded', () => {
      const store = subject.open(recordingLogger())
      const saved = [{ ...sampleRecord, addresses: [...sampleRecord.addresses] }]
      store.save(saved)
      ;(saved[0] as InvitationRecord).used = true
      ;(saved[0] as InvitationRecord).addresses.push('/ip4/10.0.0.1/tcp/1')
      const loaded = store.load()
      ;(loaded[0] as InvitationRecord).expiresAt = 0
      expect(store.load()).toEqual([sampleRecord])
    })

    if (subject.reopen !== undefined) {
      const reopen = subject.reopen.bind(subject)
      it('keeps the records across a reopen, a used one still used', () => {
        const logger = recordingLogger()
        const store = subject.open(logger)
        store.save([sampleRecord, other])
        expect(reopen(store, logger).load()).toEqual([sampleRecord, other])
        expect(logger.codes()).toEqual([])
      })
    }

    if (subject.share !== undefined) {
      const share = subject.share.bind(subject)
      it('gives each handle the whole list the last save through either wrote', () => {
        const logger = recordingLogger()
        const store = subject.open(logger)
        const second = share(store, logger)
        store.save([sampleRecord])
        second.save([other, third])
        expect(store.load()).toEqual([other, third])
        store.save([third])
        expect(second.load()).toEqual([third])
      })
    }

    if (subject.openDamaged !== undefined) {
      const openDamaged = subject.openDamaged.bind(subject)
      it.each([
        ['not JSON', '{"version": 1, "invitations": ['],
        ['of another version', JSON.stringify({ version: 2, invitations: [] })],
        ['holding a bad nonce', JSON.stringify({ version: 1, invitations: [{ ...sampleRecord, nonce: 'xyz' }] })],
        ['holding an unknown field', JSON.stringify({ version: 1, invitations: [{ ...sampleRecord, secret: 'oops' }] })],
      ])('loads damaged bytes (%s) as no invitations, warns INVITATIONS_FILE_INVALID, and saves again afterwards', (_name, text) => {
        const logger = recordingLogger()
        const store = openDamaged(text, logger)
        expect(store.load()).toEqual([])
        expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.code)).toEqual(['INVITATIONS_FILE_INVALID'])
        store.save([sampleRecord])
        expect(store.load()).toEqual([sampleRecord])
      })
    }
  })
}
