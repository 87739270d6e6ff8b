#!/usr/bin/env node
// The instar CLI: one bundled file built from the TypeScript sources into dist/ (npm ci runs
// the build through the "prepare" script; `npm run build` redoes it). One file loads in a
// fraction of the time of hundreds of ES modules, which a node's start time feels.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/instar.mjs', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('instar: dist/instar.mjs is missing; run "npm run build" (npm ci does it) [BUILD_MISSING]\n')
  process.exit(1)
}
await import(entry.href)
