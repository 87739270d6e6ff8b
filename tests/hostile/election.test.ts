/**
 * Issue 9, part 1, end to end: a hostile node that holds valid witness keys sends the frame
 * that killed every member (a HEARTBEAT at term 2^53 - 1), the same at MAX_TERM, and refused
 * or extreme frames of every election message type, over the election protocol to a real
 * two-machine mesh. And a node started on a state.db that the old code left holding term
 * 2^53 - 1 repairs it, says so, and elects a leader with its peer.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openStateDb } from '../../crdt/index.js'
import { ELECTION_PROTOCOL, MAX_TERM, REPAIRED_TERM, frameStream, type FrameStream } from '../../mesh/index.js'
import { createSystemClock } from '../../runtime/index.js'
import { MAX_ELECTION_FRAME, decodeElectionMessage } from '../../mesh/election-protocol.js'
import { processAlive } from '../../node/run-state.js'
import { cleanupNodeOnFinish, lastJson, runInstar } from '../support/cli.js'
import { editConfig } from '../support/homes.js'
import { connectedTo, oneLeader, startTestNode, type TestNode } from '../support/mesh-nodes.js'
import { recordingLogger, type RecordingLogger } from '../support/recording-logger.js'
import { stablePort } from '../support/ports.js'
import { mulberry32 } from '../support/seeded-random.js'
import { tempDir } from '../support/temp-dir.js'
import { waitFor } from '../support/wait-for.js'

const clock = createSystemClock()
const ATTACK_TERM = 2n ** 53n - 1n
/** The longest election timeout (the default election options): a crash on the attack came at the first one. */
const MAX_TIMEOUT_MS = 2000

/** A configuration id of stamp 0, epoch 0: valid under any term. */
const ID0 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
const TYPE = { requestVote: 1, vote: 2, heartbeat: 3, heartbeatReply: 4, timeoutNow: 5, preVote: 6, preVoteReply: 7 } as const

/** A raw election frame: version 2, type, an 8-byte big-endian term, then `tail`. */
function raw(type: number, term: bigint, tail: number[] = [], version = 2): Uint8Array {
  const frame = new Uint8Array(10 + tail.length)
  frame[0] = version
  frame[1] = type
  new DataView(frame.buffer).setBigUint64(2, term)
  frame.set(tail, 10)
  return frame
}

/** What a member does with a frame from the witness: refuse it as malformed, refuse it as leader-only, or take it. */
function expectedRefusal(frame: Uint8Array): 'ELECTION_FRAME_MALFORMED' | 'ELECTION_WITNESS_CANNOT_LEAD' | null {
  let type: string
  try {
    type = decodeElectionMessage(frame).type
  } catch {
    return 'ELECTION_FRAME_MALFORMED'
  }
  return ['heartbeat', 'request-vote', 'pre-vote', 'timeout-now'].includes(type) ? 'ELECTION_WITNESS_CANNOT_LEAD' : null
}

/** Every election message type, refused (a term over MAX_TERM, a bad field, a bad header) or, for the witness, leader-only. */
function craftedFrames(currentTerm: bigint, seed: number): Uint8Array[] {
  const max = BigInt(MAX_TERM)
  const frames: Uint8Array[] = [
    // The frame of the issue, first.
    raw(TYPE.heartbeat, ATTACK_TERM, [0, 0, 0, 1, 0]),
    raw(TYPE.heartbeat, max, [0, 0, 0, 1, 0]),
    raw(TYPE.heartbeat, max + 1n, [0xff, 0xff, 0xff, 0xff, 0]),
    raw(TYPE.heartbeat, currentTerm + 1n, [0, 0, 0, 2, 0]),
    raw(TYPE.requestVote, ATTACK_TERM, [0xff, 0xff, 0, ...ID0]),
    raw(TYPE.requestVote, max, [0xff, 0xff, 1, ...ID0]),
    raw(TYPE.requestVote, currentTerm + 1n, [0, 0, 1, ...ID0]),
    raw(TYPE.requestVote, 1n, [0, 0, 2, ...ID0]),
    raw(TYPE.preVote, ATTACK_TERM, [0xff, 0xff, ...ID0]),
    raw(TYPE.preVote, max, [0xff, 0xff, ...ID0]),
    raw(TYPE.preVote, currentTerm + 1n, [0, 0, ...ID0]),
    raw(TYPE.timeoutNow, ATTACK_TERM),
    raw(TYPE.timeoutNow, max),
    raw(TYPE.timeoutNow, currentTerm),
    raw(TYPE.timeoutNow, 2n ** 64n - 1n),
    // Replies stay valid from a witness, so only refused ones (and harmless extremes) here.
    raw(TYPE.vote, ATTACK_TERM, [1]),
    raw(TYPE.vote, max + 1n, [0]),
    raw(TYPE.vote, currentTerm, [2]),
    raw(TYPE.vote, currentTerm, [1]),
    raw(TYPE.preVoteReply, ATTACK_TERM, [0]),
    raw(TYPE.preVoteReply, currentTerm, [7]),
    raw(TYPE.preVoteReply, currentTerm, [1]),
    raw(TYPE.heartbeatReply, ATTACK_TERM, [0, 0, 0, 1, 1, 0, 0, ...ID0]),
    raw(TYPE.heartbeatReply, currentTerm, [0, 0, 0, 1, 9, 0, 0, ...ID0]),
    raw(TYPE.heartbeatReply, currentTerm, [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, ...ID0]),
    // Headers and lengths.
    raw(TYPE.heartbeat, 1n, [0, 0, 0, 1], 1),
    raw(TYPE.heartbeat, 1n, [0, 0, 0, 1, 0], 0),
    // Voter configurations: a witness may not send one; malformed ones are refused as such.
    raw(TYPE.heartbeat, currentTerm + 1n, [0, 0, 0, 3, 1, ...ID0, 1, 1, 1, 97, 0]),
    raw(TYPE.heartbeat, currentTerm, [0, 0, 0, 3, 1, ...ID0, 0]),
    raw(TYPE.heartbeat, currentTerm, [0, 0, 0, 3, 1, ...ID0, 1, 0, 1, 97, 0]),
    raw(TYPE.heartbeat, currentTerm, [0, 0, 0, 3, 1, ...ID0, 2, 1, 1, 97, 1, 1, 97, 0]),
    raw(TYPE.heartbeat, 1n, [0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 1, 1, 1, 97, 0]),
    raw(TYPE.requestVote, 1n, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]),
    raw(0, 1n),
    raw(8, 1n),
    raw(0xff, ATTACK_TERM, [1, 2, 3, 4, 5, 6, 7]),
    raw(TYPE.heartbeat, 1n, [0, 0]),
    raw(TYPE.timeoutNow, 1n, [0]),
    new Uint8Array([1]),
    new Uint8Array(0),
  ]
  // Seeded: leader-only frames with random terms and fields (refused whatever they hold), and
  // replies with a boolean byte that is no boolean.
  const random = mulberry32(seed)
  const byte = (): number => Math.floor(random() * 256)
  const randomTerm = (): bigint => {
    const view = new DataView(new ArrayBuffer(8))
    for (let i = 0; i < 8; i++) view.setUint8(i, i < 2 && random() < 0.7 ? 0 : byte())
    return view.getBigUint64(0)
  }
  const leaderOnly = [
    [TYPE.heartbeat, 5],
    [TYPE.requestVote, 15],
    [TYPE.preVote, 14],
    [TYPE.timeoutNow, 0],
  ] as const
  for (let i = 0; i < 60; i++) {
    const [type, length] = leaderOnly[i % leaderOnly.length] as (typeof leaderOnly)[number]
    frames.push(raw(type, randomTerm(), Array.from({ length }, byte)))
  }
  for (let i = 0; i < 15; i++) {
    const notBool = 2 + Math.floor(random() * 254)
    frames.push(raw(TYPE.vote, randomTerm(), [notBool]), raw(TYPE.preVoteReply, randomTerm(), [notBool]))
  }
  return frames
}

async function electionStream(from: TestNode, to: TestNode): Promise<FrameStream> {
  const connection = from.mesh.host.libp2p.getConnections().find((c) => c.remotePeer.toString() === to.mesh.peerId && c.status === 'open')
  if (connection === undefined) throw new Error(`${from.name} is not connected to ${to.name}`)
  const stream = await connection.newStream(ELECTION_PROTOCOL)
  onTestFinished(() => stream.abort(new Error('test over')))
  return frameStream(stream, MAX_ELECTION_FRAME + 1)
}

function count(node: TestNode, code: string): number {
  return node.mesh.electionTraffic().refused[code] ?? 0
}

describe('hostile witness on the election protocol', () => {
  it('refuses every frame with its code, never follows the witness, and keeps a leader with a lease', { timeout: 120_000 }, async () => {
    const seed = Number(process.env.HOSTILE_ELECTION_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const replay = `seed ${seed} (replay with HOSTILE_ELECTION_SEED=${seed})`
    const logs: Record<string, RecordingLogger> = { a: recordingLogger(), b: recordingLogger() }
    const a = await startTestNode({ name: 'a', founder: true, logger: logs.a })
    const b = await startTestNode({ name: 'b', logger: logs.b })
    await b.mesh.join(a.mesh.invite(60_000).token)
    // The hostile node: a real witness, paired with a witness invitation, so it holds valid keys.
    const w = await startTestNode({ name: 'w', witness: true })
    await w.mesh.join(a.mesh.invite(60_000, 'witness').token)
    const all = [a, b, w]
    await waitFor(() => all.every((x) => all.every((y) => x === y || connectedTo(x, y))), { timeoutMs: 20_000, what: 'a, b and the witness connected' })
    const first = await oneLeader(all)
    expect(first).not.toBe(w)
    const termBefore = Math.max(a.mesh.leader().term, b.mesh.leader().term)

    // Sampled all along: no member ever shows the witness as leader or takes a huge term.
    const seen = { witnessLed: 0, maxTerm: 0 }
    const sampler = clock.setInterval(() => {
      for (const node of [a, b]) {
        const info = node.mesh.leader()
        if (info.leader === w.mesh.peerId) seen.witnessLed++
        seen.maxTerm = Math.max(seen.maxTerm, info.term)
      }
    }, 5)
    onTestFinished(() => sampler.cancel())

    const frames = craftedFrames(BigInt(termBefore), seed)
    const expected = { ELECTION_FRAME_MALFORMED: 0, ELECTION_WITNESS_CANNOT_LEAD: 0 }
    for (const frame of frames) {
      const code = expectedRefusal(frame)
      if (code !== null) expected[code]++
    }
    // Last, one frame over the MAX_ELECTION_FRAME limit, on a stream of its own: refused and that stream reset.
    expected.ELECTION_FRAME_MALFORMED++
    expect(expected.ELECTION_WITNESS_CANNOT_LEAD, replay).toBeGreaterThan(10)

    for (const victim of [a, b]) {
      const stream = await electionStream(w, victim)
      for (const frame of frames) await stream.write(frame)
      const big = await electionStream(w, victim)
      await big.write(new Uint8Array(MAX_ELECTION_FRAME + 1).fill(2))
    }
    const attackAt = clock.now()
    for (const victim of [a, b]) {
      await waitFor(
        () => count(victim, 'ELECTION_FRAME_MALFORMED') >= expected.ELECTION_FRAME_MALFORMED && count(victim, 'ELECTION_WITNESS_CANNOT_LEAD') >= expected.ELECTION_WITNESS_CANNOT_LEAD,
        { timeoutMs: 15_000, what: `${victim.name} to refuse every hostile frame (${replay})` },
      )
    }

    // The crash came at the first election timeout after the frame: wait until a member holds
    // a lease it renewed well past that, followed by the other.
    const leader = await waitFor(
      () => {
        const holder = [a, b].find((n) => {
          const info = n.mesh.leader()
          return info.role === 'leader' && (info.leaseExpiresAt ?? 0) > attackAt + 2 * MAX_TIMEOUT_MS
        })
        return holder !== undefined && [a, b, w].every((n) => n.mesh.leader().leader === holder.mesh.peerId) ? holder : null
      },
      { timeoutMs: 30_000, what: `a member to hold the lease two election timeouts after the attack (${replay})` },
    )
    expect(leader).not.toBe(w)
    for (const victim of [a, b]) {
      expect({ name: victim.name, ...victim.mesh.electionTraffic().refused }, replay).toEqual({ name: victim.name, ...expected })
      const codes = logs[victim.name]?.lines.filter((l) => l.level === 'warn').map((l) => l.code) ?? []
      expect(codes, replay).toContain('ELECTION_FRAME_MALFORMED')
      expect(codes, replay).toContain('ELECTION_WITNESS_CANNOT_LEAD')
      expect(victim.mesh.status().member).toBe(true)
    }
    expect(seen.witnessLed, replay).toBe(0)
    // The witness's terms were never adopted: the term moved by elections only, if at all.
    expect(seen.maxTerm, replay).toBeLessThan(termBefore + 100)
  })
})

describe('a state.db holding term 2^53-1', () => {
  it('starts both machines, reports the repair in node status and the log, and elects a leader', { timeout: 180_000 }, async () => {
    const homes = { alpha: join(tempDir(), 'alpha'), beta: join(tempDir(), 'beta') }
    for (const [name, home] of Object.entries(homes)) {
      const init = await runInstar(['init', '--home', home, '--name', name, ...(name === 'alpha' ? ['--agent', 'kira'] : [])])
      expect(init.code, init.stderr).toBe(0)
      // Loopback only, on a port no other process takes while the node restarts (the peer dials it).
      const port = await stablePort()
      editConfig(home, (config) => ({ ...config, listen: [`/ip4/127.0.0.1/tcp/${port}`] }))
      cleanupNodeOnFinish(home)
    }
    const start = async (home: string): Promise<number> => {
      const started = await runInstar(['node', 'start', '--home', home, '--detach', '--json'])
      expect(started.code, started.stderr).toBe(0)
      return lastJson<{ pid: number }>(started.stdout).pid
    }
    const api = async <T>(home: string, path: string): Promise<T> => {
      const run = JSON.parse(readFileSync(join(home, 'run', 'node.json'), 'utf8')) as { api: string }
      const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
      const response = await fetch(`${run.api}${path}`, { headers: { authorization: `Bearer ${token}` } })
      return (await response.json()) as T
    }
    interface Leader {
      leader: string | null
      term: number
      role: string
      self: string
    }
    const oneLeaderOf = (minTerm: number) =>
      waitFor(
        async () => {
          const views = await Promise.all([api<Leader>(homes.alpha, '/mesh/leader'), api<Leader>(homes.beta, '/mesh/leader')])
          const [x, y] = views
          return x !== undefined && y !== undefined && x.leader !== null && x.leader === y.leader && x.term >= minTerm && views.some((v) => v.role === 'leader') ? x : null
        },
        { timeoutMs: 40_000, what: 'alpha and beta to follow one leader' },
      )

    await start(homes.alpha)
    await start(homes.beta)
    const made = await runInstar(['mesh', 'pair', '--home', homes.alpha, '--json'])
    expect(made.code, made.stderr).toBe(0)
    const joined = await runInstar(['mesh', 'pair', lastJson<{ invitation: string }>(made.stdout).invitation, '--home', homes.beta, '--json'])
    expect(joined.code, joined.stderr).toBe(0)
    await oneLeaderOf(1)
    for (const home of Object.values(homes)) expect((await runInstar(['node', 'stop', '--home', home])).code).toBe(0)

    // What the old code left in both state.db files after the witness's frame.
    for (const home of Object.values(homes)) {
      const state = openStateDb(join(home, 'state.db'), 0)
      try {
        expect(Number(state.getMeta('election.term'))).toBeGreaterThanOrEqual(1)
        state.setMeta('election.term', '9007199254740991')
      } finally {
        state.close()
      }
    }

    const pids = [await start(homes.alpha), await start(homes.beta)]
    for (const home of Object.values(homes)) {
      const status = await runInstar(['node', 'status', '--home', home, '--json'])
      expect(status.code, status.stderr).toBe(0)
      expect(lastJson<{ repairs: unknown[] }>(status.stdout).repairs).toEqual([
        { code: 'ELECTION_TERM_REPAIRED', what: 'election.term', found: '9007199254740991', repairedTo: REPAIRED_TERM },
      ])
      const human = await runInstar(['node', 'status', '--home', home])
      expect(human.stdout).toContain('[ELECTION_TERM_REPAIRED]')
      const logged = readFileSync(join(home, 'logs', 'node.log'), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; code?: string; found?: string })
      expect(logged.filter((l) => l.code === 'ELECTION_TERM_REPAIRED')).toEqual([expect.objectContaining({ level: 40, found: '9007199254740991' })])
    }
    const elected = await oneLeaderOf(REPAIRED_TERM + 1)
    expect(elected.term).toBeLessThan(REPAIRED_TERM + 100)
    // Still up past the election timeout at which the old code died (the leader renews after it).
    const since = clock.now()
    await waitFor(
      async () => {
        const info = await api<{ role: string; leaseExpiresAt: string | null }>(elected.leader === elected.self ? homes.alpha : homes.beta, '/mesh/leader')
        return info.role === 'leader' && info.leaseExpiresAt !== null && Date.parse(info.leaseExpiresAt) > since + 2 * MAX_TIMEOUT_MS
      },
      { timeoutMs: 30_000, what: 'the leader to renew its lease past two election timeouts' },
    )
    for (const pid of pids) expect(processAlive(pid)).toBe(true)
  })
})
