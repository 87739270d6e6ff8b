/**
 * `npm run bench`: runs every compiled bench/*.bench.ts in turn, each in its own process.
 * `npm run bench -- NAME` runs NAME.bench.ts if there is one, else those whose file name
 * contains NAME (`-- hostile` is the hostile fuzzer's bench, `-- hostile-update` the other).
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv[2]
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.js'))
const files = (only !== undefined && all.includes(`${only}.bench.js`) ? [`${only}.bench.js`] : all.filter((f) => only === undefined || f.includes(only))).sort()
let failed = 0
for (const file of files) {
  const result = spawnSync(process.execPath, ['--import', new URL('../node/polyfills.js', import.meta.url).href, `${dir}${file}`], {
    stdio: 'inherit',
  })
  if (result.status !== 0) {
    process.stderr.write(`bench ${file} failed (exit ${result.status})\n`)
    failed++
  }
}
process.exitCode = failed === 0 ? 0 : 1
