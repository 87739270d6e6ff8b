#!/usr/bin/env node
// The instar CLI, compiled from the TypeScript sources into dist/ (npm ci runs the build
// through the "prepare" script; `npm run build` redoes it). The polyfills load before
// anything imports libp2p: it needs Promise.withResolvers, which Node 20 lacks.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/node/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('instar: dist/ is missing; run "npm run build" (npm ci does it) [BUILD_MISSING]\n')
  process.exit(1)
}
await import('../dist/node/polyfills.js')
await import('../dist/node/main.js')
