/**
 * Samples a node's HTTP API from a process of its own, so that what the bench does in its
 * own process (crafting attacks) never shows in the figures: GET /node one request at a time,
 * one every GAP ms, and GET /mesh/leader every 100 ms beside it, for WINDOW ms. Prints one
 * JSON line: the latencies in ms (a request that does not answer within 30 s counts 30,000)
 * and every distinct leader and term it saw.
 *
 *   node dist/bench/api-sampler.js <api url> <token> <window ms> <gap ms>
 */
import { createSystemClock } from '../runtime/index.js'

const clock = createSystemClock()
const [api = '', token = '', windowArg = '5000', gapArg = '10'] = process.argv.slice(2)
const headers = { authorization: `Bearer ${token}` }
const end = clock.now() + Number(windowArg)
const times: number[] = []
const leaders = new Set<string>()

const get = async (path: string): Promise<unknown> => {
  const response = await fetch(`${api}${path}`, { headers, signal: clock.timeoutSignal(30_000) })
  if (!response.ok) throw new Error(`${path}: ${response.status}`)
  return response.json()
}

const watchLeader = (async () => {
  while (clock.now() < end) {
    try {
      const view = (await get('/mesh/leader')) as { leader: string | null; term: number }
      leaders.add(`${view.leader ?? 'none'}@${view.term}`)
    } catch {
      leaders.add('unanswered')
    }
    await clock.sleep(100)
  }
})()

while (clock.now() < end) {
  const t0 = performance.now()
  try {
    await get('/node')
    times.push(performance.now() - t0)
  } catch {
    times.push(30_000)
  }
  await clock.sleep(Number(gapArg))
}
await watchLeader
process.stdout.write(`${JSON.stringify({ times, leaders: [...leaders] })}\n`)
