/** The agent's identity text in the memory document: set, read, cleared, bounded, and only a well-formed value from a peer is read. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createIdentityModel, IDENTITY_LIMITS } from '../../crdt/identity-model.js'
import { MEMORY_SCHEMA, createMemoryModel } from '../../crdt/memory-model.js'
import { createRemoteApplier } from '../../crdt/remote-apply.js'
import { SyncUpdateRejectedError } from '../../crdt/errors.js'
import { createSystemClock } from '../../runtime/index.js'

async function applyRemote(doc: Y.Doc, update: Uint8Array): Promise<void> {
  await createRemoteApplier({ clock: createSystemClock(), pause: () => Promise.resolve() }).apply(doc, MEMORY_SCHEMA, update, 'peer', () => false)
}

describe('the identity model', () => {
  it('sets, replaces and clears the text, and leaves the memory entries alone', () => {
    const doc = new Y.Doc()
    const identity = createIdentityModel(doc)
    const memory = createMemoryModel(doc)
    expect(identity.get()).toBeNull()
    expect(identity.set('You are Kira, terse and kind.', 'laptop', 5)).toEqual({ text: 'You are Kira, terse and kind.', by: 'laptop', at: 5 })
    identity.set('You are Kira.', 'desk', 6)
    expect(identity.get()).toEqual({ text: 'You are Kira.', by: 'desk', at: 6 })
    expect(memory.size()).toBe(0)
    expect(identity.set('  \n', 'desk', 7)).toBeNull()
    expect(identity.get()).toBeNull()
  })

  it('refuses a text over the limit with the field named', () => {
    const identity = createIdentityModel(new Y.Doc())
    expect(() => identity.set('x'.repeat(IDENTITY_LIMITS.maxTextLength + 1), 'laptop', 1)).toThrow(/text.*at most 20000/)
  })

  it('takes the largest text from a peer, refuses a larger value, and reads a malformed one as none', async () => {
    const source = new Y.Doc()
    createIdentityModel(source).set('é'.repeat(IDENTITY_LIMITS.maxTextLength), 'a'.repeat(IDENTITY_LIMITS.maxByLength), Date.now())
    const victim = new Y.Doc()
    await applyRemote(victim, Y.encodeStateAsUpdate(source))
    expect(createIdentityModel(victim).get()?.text.length).toBe(IDENTITY_LIMITS.maxTextLength)

    const large = new Y.Doc()
    large.getMap('agent').set('identity', { text: 'x'.repeat(30_000), by: 'm', at: 1 })
    await expect(applyRemote(new Y.Doc(), Y.encodeStateAsUpdate(large))).rejects.toBeInstanceOf(SyncUpdateRejectedError)

    const odd = new Y.Doc()
    odd.getMap('agent').set('identity', { text: 42, by: 'm', at: 1 })
    const reader = new Y.Doc()
    await applyRemote(reader, Y.encodeStateAsUpdate(odd))
    expect(createIdentityModel(reader).get()).toBeNull()
  })
})
