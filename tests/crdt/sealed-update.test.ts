import { randomInt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { SyncUpdateRejectedError } from '../../crdt/errors.js'
import {
  DOC_NAMES,
  MAX_UPDATE_BYTES,
  isDocName,
  openUpdate,
  resealUpdate,
  sealUpdate,
  updateId,
  type DocName,
} from '../../crdt/sealed-update.js'
import { generateMeshKey, sealWithMeshKey, type MeshKey } from '../../identity/index.js'
import { mulberry32 } from '../support/seeded-random.js'

const MESH = 'mesh-k7qm3x2a'
const key = generateMeshKey(7)
const keysOf =
  (...list: MeshKey[]) =>
  (epoch: number): MeshKey | undefined =>
    list.find((k) => k.epoch === epoch)
const onlyKey = keysOf(key)
/** Answers every epoch with `key`, so a changed header is caught by authentication, not lookup. */
const anyEpoch = (): MeshKey => key

function yjsUpdate(text = 'remember: the deploy window is Tuesday'): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('entries').set('a', text)
  doc.getArray('log').push([1, 'two', { three: 3 }])
  return Y.encodeStateAsUpdate(doc)
}

function rejection(fn: () => unknown): SyncUpdateRejectedError {
  try {
    fn()
  } catch (err) {
    if (err instanceof SyncUpdateRejectedError) return err
    throw err
  }
  throw new Error('expected a SyncUpdateRejectedError, but nothing was thrown')
}

describe('sealed update', () => {
  it('knows exactly the six document names', () => {
    expect([...DOC_NAMES].sort()).toEqual(['channels', 'conversations', 'jobs', 'memory', 'relationships', 'secrets'])
    for (const name of DOC_NAMES) expect(isDocName(name)).toBe(true)
    for (const name of ['roster', 'Memory', '', 'memory|x', '__proto__']) expect(isDocName(name)).toBe(false)
  })

  it('opens what it sealed, with the epoch, and the update rebuilds the document', () => {
    const update = yjsUpdate()
    const sealed = sealUpdate(key, MESH, 'memory', update)
    const opened = openUpdate(onlyKey, MESH, 'memory', sealed)
    expect(opened.epoch).toBe(7)
    expect(opened.update).toEqual(update)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, opened.update)
    expect(doc.getMap('entries').get('a')).toBe('remember: the deploy window is Tuesday')
  })

  it('seals the same update to different bytes each time, and updateId is their hex sha256', () => {
    const update = yjsUpdate()
    const a = sealUpdate(key, MESH, 'memory', update)
    const b = sealUpdate(key, MESH, 'memory', update)
    expect(a).not.toEqual(b)
    expect(updateId(a)).toMatch(/^[0-9a-f]{64}$/)
    expect(updateId(a)).toBe(updateId(Uint8Array.from(a)))
    expect(updateId(a)).not.toBe(updateId(b))
  })

  it('refuses a flipped byte at 20 sampled positions as auth-failed or malformed', () => {
    const sealed = sealUpdate(key, MESH, 'memory', yjsUpdate())
    const positions = new Set([0, 1, 4, 5, 28, 29, sealed.length - 1])
    for (let i = 0; positions.size < 20; i++) positions.add(Math.floor(((i * 7919) % 1000) / 1000 * sealed.length))
    for (const at of positions) {
      const tampered = Uint8Array.from(sealed)
      tampered[at] = (tampered[at] ?? 0) ^ 0x01
      const err = rejection(() => openUpdate(anyEpoch, MESH, 'memory', tampered))
      expect(err.code, `position ${at}`).toBe('SYNC_UPDATE_REJECTED')
      expect(['auth-failed', 'malformed'], `position ${at}`).toContain(err.reason)
    }
  })

  it('refuses truncated bytes, short or long', () => {
    const sealed = sealUpdate(key, MESH, 'memory', yjsUpdate())
    for (const length of [0, 1, 5, 29, 44, 45, sealed.length - 16, sealed.length - 1]) {
      const err = rejection(() => openUpdate(onlyKey, MESH, 'memory', sealed.slice(0, length)))
      expect(['auth-failed', 'malformed'], `length ${length}`).toContain(err.reason)
    }
    expect(rejection(() => openUpdate(onlyKey, MESH, 'memory', sealed.slice(0, 10))).reason).toBe('malformed')
  })

  it('refuses a relabelled epoch header as unknown-epoch or auth-failed', () => {
    const other = generateMeshKey(8)
    const sealed = sealUpdate(key, MESH, 'memory', yjsUpdate())
    const relabelled = Uint8Array.from(sealed)
    relabelled[4] = 8
    expect(rejection(() => openUpdate(onlyKey, MESH, 'memory', relabelled)).reason).toBe('unknown-epoch')
    // With the epoch-8 key at hand the header is authenticated, so the relabel is caught.
    expect(rejection(() => openUpdate(keysOf(key, other), MESH, 'memory', relabelled)).reason).toBe('auth-failed')
  })

  it('refuses an epoch it holds no key for as unknown-epoch, naming the epoch', () => {
    const sealed = sealUpdate(generateMeshKey(12), MESH, 'jobs', yjsUpdate())
    const err = rejection(() => openUpdate(onlyKey, MESH, 'jobs', sealed))
    expect(err.reason).toBe('unknown-epoch')
    expect(err.epoch).toBe(12)
  })

  it('refuses an update sealed for memory when opened as jobs', () => {
    const sealed = sealUpdate(key, MESH, 'memory', yjsUpdate())
    expect(rejection(() => openUpdate(onlyKey, MESH, 'jobs', sealed)).reason).toBe('auth-failed')
  })

  it('refuses an update sealed for another mesh', () => {
    const sealed = sealUpdate(key, 'mesh-other', 'memory', yjsUpdate())
    expect(rejection(() => openUpdate(onlyKey, MESH, 'memory', sealed)).reason).toBe('auth-failed')
  })

  it('opens a valid seal around bytes that are not a Yjs update: the document it is applied to checks them', () => {
    const garbage = new TextEncoder().encode('this is not a yjs update at all')
    const sealed = sealWithMeshKey(key, garbage, new TextEncoder().encode(`instar/update/v1|${MESH}|memory`))
    expect(openUpdate(onlyKey, MESH, 'memory', sealed)).toEqual({ epoch: 7, update: garbage })
  })

  it('refuses an update over the size cap without opening it', () => {
    const big = new Uint8Array(MAX_UPDATE_BYTES + 1)
    const sealed = sealUpdate(key, MESH, 'memory', big)
    expect(rejection(() => openUpdate(onlyKey, MESH, 'memory', sealed)).reason).toBe('malformed')
    const small = sealUpdate(key, MESH, 'memory', yjsUpdate())
    expect(rejection(() => openUpdate(onlyKey, MESH, 'memory', small, { maxBytes: 4 })).reason).toBe('malformed')
  })

  it('refuses a name that is not a document as wrong-document', () => {
    const sealed = sealUpdate(key, MESH, 'memory', yjsUpdate())
    expect(rejection(() => openUpdate(onlyKey, MESH, 'roster' as DocName, sealed)).reason).toBe('wrong-document')
    expect(() => sealUpdate(key, MESH, 'roster' as DocName, yjsUpdate())).toThrowError(
      expect.objectContaining({ code: 'CRDT_INPUT_INVALID', field: 'doc' }),
    )
  })

  it('reseals under a new key without the old key opening the result', () => {
    const next = generateMeshKey(8)
    const update = yjsUpdate()
    const resealed = resealUpdate(onlyKey, next, MESH, 'secrets', sealUpdate(key, MESH, 'secrets', update))
    expect(openUpdate(keysOf(next), MESH, 'secrets', resealed)).toEqual({ epoch: 8, update })
    expect(rejection(() => openUpdate(anyEpoch, MESH, 'secrets', resealed)).reason).toBe('auth-failed')
  })

  it('throws nothing but SyncUpdateRejectedError for 500 random inputs', () => {
    const seed = Number(process.env.SEALED_UPDATE_FUZZ_SEED ?? randomInt(2 ** 31))
    const random = mulberry32(seed)
    const byte = (): number => Math.floor(random() * 256)
    const aad = (doc: DocName): Uint8Array => new TextEncoder().encode(`instar/update/v1|${MESH}|${doc}`)
    const valid = [yjsUpdate(), yjsUpdate('x'.repeat(300)), incrementalUpdate()]
    let opened = 0
    try {
      for (let i = 0; i < 500; i++) {
        const source = valid[i % valid.length] as Uint8Array
        let sealed: Uint8Array
        switch (i % 5) {
          case 0: // random bytes, sometimes with a plausible header
            sealed = Uint8Array.from({ length: Math.floor(random() * 120) }, byte)
            if (random() < 0.5 && sealed.length > 5) sealed.set([1, 0, 0, 0, 7])
            break
          case 1: {
            // a real sealed update with a few bytes overwritten
            sealed = sealUpdate(key, MESH, 'memory', source)
            for (let f = 1 + Math.floor(random() * 3); f > 0; f--) sealed[Math.floor(random() * sealed.length)] = byte()
            break
          }
          case 2: // a valid seal around random bytes
            sealed = sealWithMeshKey(key, Uint8Array.from({ length: Math.floor(random() * 200) }, byte), aad('memory'))
            break
          case 3: {
            // a valid seal around a real Yjs update with bytes overwritten, cut or extended
            const plaintext = Uint8Array.from(source)
            for (let f = 1 + Math.floor(random() * 4); f > 0; f--) plaintext[Math.floor(random() * plaintext.length)] = byte()
            const cut = random() < 0.3 ? plaintext.slice(0, Math.floor(random() * plaintext.length)) : plaintext
            sealed = sealWithMeshKey(key, cut, aad('memory'))
            break
          }
          default: // a real sealed update, truncated
            sealed = sealUpdate(key, MESH, 'memory', source)
            sealed = sealed.slice(0, Math.floor(random() * sealed.length))
        }
        try {
          openUpdate(onlyKey, MESH, 'memory', sealed)
          opened++
        } catch (err) {
          if (!(err instanceof SyncUpdateRejectedError)) throw err
          expect(err.code).toBe('SYNC_UPDATE_REJECTED')
        }
      }
    } catch (err) {
      throw new Error(`fuzz failed with seed ${seed} (replay with SEALED_UPDATE_FUZZ_SEED=${seed})`, { cause: err })
    }
    expect(opened, `seed ${seed}`).toBeLessThan(500)
  })
})

function incrementalUpdate(): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('notes').insert(0, 'hello')
  const before = Y.encodeStateVector(doc)
  doc.getText('notes').insert(5, ' world')
  return Y.encodeStateAsUpdate(doc, before)
}

