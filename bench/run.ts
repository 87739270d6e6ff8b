/**
 * `npm run bench`: runs every compiled bench/*.bench.ts in turn, each in its own process.
 * `npm run bench -- NAME` runs only those whose file name contains NAME.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv[2]
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only === undefined || f.includes(only))
  .sort()
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
