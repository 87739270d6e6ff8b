#!/usr/bin/env node
// The instar CLI, bundled from the TypeScript sources into dist/cli/ (npm ci runs the build
// through the "prepare" script; `npm run build` redoes it). dist/cli/instar.mjs holds what every
// command needs (commander, the output, the API client); what only `init`, `node start` and
// `relay start` need (keys, the daemon with libp2p, Yjs and SQLite) is in chunks it imports
// when one of those runs, so that a command that only asks the running node answers at once.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/instar.mjs', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('instar: dist/cli/instar.mjs is missing; run "npm run build" (npm ci does it) [BUILD_MISSING]\n')
  process.exit(1)
}
await import(entry.href)
