/**
 * Data directories for tests that run real node processes, made in this process by the code
 * `instar init` runs (node/home.ts), so a test pays for a CLI launch only where the CLI is what
 * it tests; and the node's HTTP API, for a test that waits on what a node sees (a CLI launch
 * per poll costs a second under load).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectApi } from '../../node/api-client.js'
import { initHome } from '../../node/home.js'
import { homePaths } from '../../node/paths.js'
import { tempDir } from './temp-dir.js'

export interface TestHomeSpec {
  /** The machine's name; also the directory's. */
  name: string
  /** Founds a mesh for this agent; without it the machine waits to join one. */
  agent?: string
  priority?: number
}

/** A new data directory in a temp dir, as `instar init --home DIR --name NAME [--agent A]` makes it. */
export async function initTestHome(spec: TestHomeSpec): Promise<string> {
  const home = join(tempDir(), spec.name)
  await initHome({ home, name: spec.name, ...(spec.agent === undefined ? {} : { agent: spec.agent }), ...(spec.priority === undefined ? {} : { priority: spec.priority }) })
  return home
}

/** Rewrites the home's config.json as a user edits it by hand: `change` gets the config and returns the new one. */
export function editConfig(home: string, change: (config: Record<string, unknown>) => Record<string, unknown>): void {
  const path = homePaths(home).config
  writeFileSync(path, JSON.stringify(change(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>), null, 2))
}

/** GET `path` on the API of the node running on `home` (its address and token read afresh, as the CLI does). */
export function apiGet<T>(home: string, path: string): Promise<T> {
  return connectApi(homePaths(home)).get<T>(path)
}
