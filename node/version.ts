/** The package version, read once from package.json (found from source, from dist/, or from a chunk in dist/cli/chunks/). */
import { existsSync, readFileSync } from 'node:fs'

function findPackageJson(): string {
  for (const relative of ['../package.json', '../../package.json', '../../../package.json']) {
    const url = new URL(relative, import.meta.url)
    if (existsSync(url)) return readFileSync(url, 'utf8')
  }
  return '{"version":"0.0.0"}'
}

export const VERSION: string = (JSON.parse(findPackageJson()) as { version: string }).version
