/**
 * The `conversations` document at 100,000 messages (BENCH_MESSAGES), in a real state.db:
 * the load of the document from disk, the first listing of a conversation (which builds the
 * index by conversation), a listing of the last 50 messages once built, and an append (an
 * inbound message recorded and committed) at that size. Baseline in the same run: the load of
 * a `memory` document of as many entries of the same text length.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConversationsModel, createSqliteDocumentStorage, openStateDb } from '../crdt/index.js'
import { createDocumentStore } from '../crdt/document-store.js'
import { createDocuments, type Documents } from '../crdt/documents.js'
import { createMemoryModel } from '../crdt/memory-model.js'
import { generateMeshKey } from '../identity/index.js'
import { createSystemClock, silentLogger } from '../runtime/index.js'
import { percentile, report } from './report.js'

const clock = createSystemClock()
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000)
const CONVERSATIONS = 200
const TEXT = 'a message of ordinary length, something a person types into a phone. '.repeat(2)
const key = generateMeshKey(1)
const dir = mkdtempSync(join(tmpdir(), 'instar-bench-conv-'))

function open(): { documents: Documents; close(): void } {
  const db = openStateDb(join(dir, 'state.db'), 0, { durability: 'process-crash' })
  const store = createDocumentStore({ storage: createSqliteDocumentStorage(db), meshId: 'bench', currentKey: () => key, keyFor: () => key }, { compactAfter: Number.MAX_SAFE_INTEGER })
  const documents = createDocuments({ store, logger: silentLogger, clock })
  return {
    documents,
    close() {
      documents.close()
      db.close()
    },
  }
}

async function fill(): Promise<void> {
  const { documents, close } = open()
  await documents.load()
  const model = createConversationsModel(documents.doc('conversations'))
  const memory = createMemoryModel(documents.doc('memory'))
  const t0 = clock.now()
  for (let c = 0; c < CONVERSATIONS; c++) {
    model.ensureConversation({ id: `telegram:${c}`, channel: 'telegram', ref: { chatId: String(c), topicId: null }, title: `chat ${c}`, personId: null }, t0)
  }
  for (let i = 0; i < MESSAGES; i++) {
    const id = `telegram:1:${i}`
    model.recordInbound({ id, conversationId: `telegram:${i % CONVERSATIONS}`, platformId: String(i), personId: null, text: TEXT, at: t0 + i })
    model.markHandled(id, 1, 'bench', t0 + i)
    memory.add({ text: TEXT, topic: 'bench', author: 'bench' }, t0 + i)
    if (i % 1000 === 999) await documents.committed()
  }
  await documents.committed()
  close()
}

async function main(): Promise<void> {
  await fill()
  const { documents, close } = open()
  const t0 = performance.now()
  await documents.load()
  const loadAll = performance.now() - t0
  // The load is per document in a fixed order; time each doc's share by reopening with a model on it.
  const model = createConversationsModel(documents.doc('conversations'))
  const t1 = performance.now()
  model.messages('telegram:0', { limit: 50 })
  const firstList = performance.now() - t1
  const lists: number[] = []
  for (let i = 0; i < 200; i++) {
    const t = performance.now()
    model.messages(`telegram:${i % CONVERSATIONS}`, { limit: 50 })
    lists.push(performance.now() - t)
  }
  const appends: number[] = []
  for (let i = 0; i < 300; i++) {
    const t = performance.now()
    model.recordInbound({ id: `telegram:1:new${i}`, conversationId: `telegram:${i % CONVERSATIONS}`, platformId: `n${i}`, personId: null, text: TEXT, at: clock.now() })
    await documents.committed()
    appends.push(performance.now() - t)
  }
  const tc = performance.now()
  const counts = model.counts('telegram')
  const countsMs = performance.now() - tc
  close()

  // Each document alone: conversations and the memory baseline.
  const loadOf = async (only: 'conversations' | 'memory'): Promise<number> => {
    const db = openStateDb(join(dir, 'state.db'), 0)
    const store = createDocumentStore({ storage: createSqliteDocumentStorage(db), meshId: 'bench', currentKey: () => key, keyFor: () => key }, { compactAfter: Number.MAX_SAFE_INTEGER })
    const doc = createDocuments({ store: { ...store, openSnapshot: (d) => (d === only ? store.openSnapshot(d) : { uptoSeq: 0, pieces: [], refused: [] }), openRows: (d, a, l) => (d === only ? store.openRows(d, a, l) : { rows: [], refused: [], lastSeq: a }) }, logger: silentLogger, clock })
    const t = performance.now()
    await doc.load()
    const ms = performance.now() - t
    doc.close()
    db.close()
    return ms
  }
  const convLoad = await loadOf('conversations')
  const memLoad = await loadOf('memory')
  report('conversations', 'messages', MESSAGES, 'count')
  report('conversations', 'load_all_docs_ms', loadAll, 'ms')
  report('conversations', 'load_conversations_ms', convLoad, 'ms')
  report('conversations', 'load_memory_baseline_ms', memLoad, 'ms')
  report('conversations', 'load_ratio_vs_memory', convLoad / memLoad, 'x')
  report('conversations', 'first_list_builds_index_ms', firstList, 'ms')
  report('conversations', 'list_last50_p50_ms', percentile(lists, 50), 'ms')
  report('conversations', 'list_last50_p99_ms', percentile(lists, 99), 'ms')
  report('conversations', 'append_committed_p50_ms', percentile(appends, 50), 'ms')
  report('conversations', 'append_committed_p99_ms', percentile(appends, 99), 'ms')
  report('conversations', 'status_counts_ms', countsMs, 'ms')
  if (counts.inbox.handled < MESSAGES) throw new Error('the filled messages are not all counted')
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }))
