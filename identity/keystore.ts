/**
 * Key files: the only secrets instar keeps on disk.
 *
 *   {"type":"instar-key","kind":"machine"|"agent"|"mesh","version":1,"data":<base64url|object>}
 *
 * Files are 0600 in a 0700 directory and are written atomically: a 0600 temp file in the
 * same directory, fsync, then rename (or link, when the target must not exist, so two
 * writers cannot both win), then fsync of the directory. A loose mode on an agent key is an
 * error, since that key speaks for the agent on every machine; on other kinds it is a
 * warning. No error built here includes file contents: a JSON.parse message would quote them.
 */
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from '@noble/hashes/utils.js'
import { fromBase64Url, fromUtf8, toBase64Url, toHex } from './encoding.js'
import {
  IdentityKeyInvalidError,
  KeyFileCorruptError,
  KeyFileExistsError,
  KeyFileMissingError,
  KeyFilePermissionsError,
  KeyFileReadError,
  KeyFileWriteError,
} from './errors.js'
import { SEED_LENGTH } from './keys.js'
import { assertMeshKey, type MeshKey } from './mesh-key.js'

export type KeyFileKind = 'machine' | 'agent' | 'mesh'
export type SeedKind = 'machine' | 'agent'

export interface KeyFileWarning {
  path: string
  code: 'IDENTITY_KEY_FILE_PERMISSIONS'
  message: string
}

export interface WriteKeyFileOptions {
  /** Replace an existing file. Default false: an existing file is refused. */
  overwrite?: boolean
}

const FILE_TYPE = 'instar-key'
const FILE_VERSION = 1
const FILE_MODE = 0o600
const DIR_MODE = 0o700
const LOOSE_BITS = 0o077
const MAX_FILE_BYTES = 64 * 1024
const CHECKS_MODES = process.platform !== 'win32'

export function writeKeyFile(
  path: string,
  kind: KeyFileKind,
  content: Uint8Array | object,
  opts: WriteKeyFileOptions = {},
): void {
  if (kind !== 'mesh' && !(content instanceof Uint8Array && content.length === SEED_LENGTH)) {
    throw new IdentityKeyInvalidError(`A ${kind} key file must hold a ${SEED_LENGTH}-byte seed`)
  }
  const data = content instanceof Uint8Array ? toBase64Url(content) : content
  let text: string
  try {
    text = JSON.stringify({ type: FILE_TYPE, kind, version: FILE_VERSION, data }) + '\n'
  } catch (cause) {
    throw new KeyFileWriteError(path, { cause })
  }
  const dir = dirname(path)
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE })
    if (CHECKS_MODES) chmodSync(dir, DIR_MODE)
  } catch (cause) {
    throw new KeyFileWriteError(path, { cause })
  }
  if (!opts.overwrite && exists(path)) throw new KeyFileExistsError(path)

  const temp = join(dir, `.${basename(path)}.${toHex(randomBytes(8))}.tmp`)
  try {
    writeDurably(temp, text)
    if (opts.overwrite) renameSync(temp, path)
    else placeExclusively(temp, path)
    syncDirectory(dir)
  } catch (cause) {
    if (cause instanceof KeyFileExistsError) throw cause
    throw new KeyFileWriteError(path, { cause })
  } finally {
    removeQuietly(temp)
  }
}

export function readKeyFile(
  path: string,
  kind: KeyFileKind,
): { data: Uint8Array | object; warnings: KeyFileWarning[] } {
  const warnings: KeyFileWarning[] = []
  const text = readPrivateText(path, kind, warnings)
  const record = parseRecord(path, text)
  if (record['type'] !== FILE_TYPE) throw new KeyFileCorruptError(path, 'wrong type')
  if (record['version'] !== FILE_VERSION) throw new KeyFileCorruptError(path, 'unsupported version')
  if (record['kind'] !== kind) throw new KeyFileCorruptError(path, 'wrong kind')
  const data = record['data']
  if (typeof data === 'string') {
    const bytes = decodeBase64Url(path, data)
    if (kind !== 'mesh' && bytes.length !== SEED_LENGTH) throw new KeyFileCorruptError(path, 'wrong seed length')
    return { data: bytes, warnings }
  }
  if (kind === 'mesh' && isRecord(data)) return { data, warnings }
  throw new KeyFileCorruptError(path, 'bad encoding')
}

export function saveSeed(path: string, kind: SeedKind, seed: Uint8Array, opts?: WriteKeyFileOptions): void {
  writeKeyFile(path, kind, seed, opts)
}

export function loadSeed(path: string, kind: SeedKind): { seed: Uint8Array; warnings: KeyFileWarning[] } {
  const { data, warnings } = readKeyFile(path, kind)
  // readKeyFile returns bytes of seed length for machine and agent kinds.
  return { seed: data as Uint8Array, warnings }
}

export function saveMeshKeys(path: string, keys: MeshKey[], opts?: WriteKeyFileOptions): void {
  const seen = new Set<number>()
  for (const meshKey of keys) {
    assertMeshKey(meshKey)
    if (seen.has(meshKey.epoch)) throw new IdentityKeyInvalidError(`Mesh key epoch ${meshKey.epoch} appears twice`)
    seen.add(meshKey.epoch)
  }
  const stored = keys.map((meshKey) => ({ epoch: meshKey.epoch, key: toBase64Url(meshKey.key) }))
  writeKeyFile(path, 'mesh', { keys: stored }, opts)
}

export function loadMeshKeys(path: string): { keys: MeshKey[]; warnings: KeyFileWarning[] } {
  const { data, warnings } = readKeyFile(path, 'mesh')
  const list = isRecord(data) ? data['keys'] : undefined
  if (!Array.isArray(list)) throw new KeyFileCorruptError(path, 'bad mesh keys')
  const keys: MeshKey[] = []
  const seen = new Set<number>()
  for (const entry of list as unknown[]) {
    if (!isRecord(entry) || typeof entry['epoch'] !== 'number' || typeof entry['key'] !== 'string') {
      throw new KeyFileCorruptError(path, 'bad mesh keys')
    }
    const meshKey = { epoch: entry['epoch'], key: decodeBase64Url(path, entry['key']) }
    try {
      assertMeshKey(meshKey)
    } catch {
      throw new KeyFileCorruptError(path, 'bad mesh keys')
    }
    if (seen.has(meshKey.epoch)) throw new KeyFileCorruptError(path, 'bad mesh keys')
    seen.add(meshKey.epoch)
    keys.push(meshKey)
  }
  return { keys, warnings }
}

/** Reads through one descriptor, so the mode checked is the mode of the file read. */
function readPrivateText(path: string, kind: KeyFileKind, warnings: KeyFileWarning[]): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') throw new KeyFileMissingError(path, { cause })
    throw new KeyFileReadError(path, { cause })
  }
  try {
    let stats
    try {
      stats = fstatSync(fd)
    } catch (cause) {
      throw new KeyFileReadError(path, { cause })
    }
    if (!stats.isFile()) throw new KeyFileReadError(path)
    if (CHECKS_MODES && (stats.mode & LOOSE_BITS) !== 0) {
      const error = new KeyFilePermissionsError(path, stats.mode & 0o777)
      if (kind === 'agent') throw error
      warnings.push({ path, code: 'IDENTITY_KEY_FILE_PERMISSIONS', message: error.message })
    }
    if (stats.size > MAX_FILE_BYTES) throw new KeyFileCorruptError(path, 'too large')
    let raw: Buffer
    try {
      raw = readFileSync(fd)
    } catch (cause) {
      throw new KeyFileReadError(path, { cause })
    }
    if (raw.length > MAX_FILE_BYTES) throw new KeyFileCorruptError(path, 'too large')
    try {
      return fromUtf8(raw)
    } catch {
      throw new KeyFileCorruptError(path, 'not json')
    }
  } finally {
    closeSync(fd)
  }
}

function parseRecord(path: string, text: string): Record<string, unknown> {
  const trimmed = text.trim()
  if (trimmed.length === 0) throw new KeyFileCorruptError(path, 'empty')
  let parsed: unknown
  try {
    parsed = JSON.parse(trimmed)
  } catch {
    // A cut-off write leaves an opening brace without its closing one.
    const truncated = trimmed.startsWith('{') && !trimmed.endsWith('}')
    throw new KeyFileCorruptError(path, truncated ? 'truncated' : 'not json')
  }
  if (!isRecord(parsed)) throw new KeyFileCorruptError(path, 'wrong type')
  return parsed
}

function decodeBase64Url(path: string, text: string): Uint8Array {
  try {
    return fromBase64Url(text)
  } catch {
    throw new KeyFileCorruptError(path, 'bad encoding')
  }
}

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'wx', FILE_MODE)
  try {
    // The umask can only clear bits; fchmod makes the mode exact whatever it was.
    if (CHECKS_MODES) fchmodSync(fd, FILE_MODE)
    writeFileSync(fd, text, 'utf8')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** link() fails if the target exists, atomically; rename() would silently replace it. */
function placeExclusively(temp: string, path: string): void {
  try {
    linkSync(temp, path)
  } catch (cause) {
    if (errnoCode(cause) === 'EEXIST') throw new KeyFileExistsError(path)
    // File systems without hard links: fall back to check-then-rename.
    if (exists(path)) throw new KeyFileExistsError(path)
    renameSync(temp, path)
  }
}

function syncDirectory(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Some platforms (Windows, some network file systems) cannot fsync a directory.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // Already renamed into place, or never created.
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return false
    throw new KeyFileReadError(path, { cause })
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
