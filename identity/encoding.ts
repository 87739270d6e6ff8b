/** Byte encodings (strict base64url and hex), constant-time comparison, u32 framing. */
import { Buffer } from 'node:buffer'
import { EncodingError } from './errors.js'

const BASE64URL_CHARS = /^[A-Za-z0-9_-]*$/
const HEX_CHARS = /^[0-9a-fA-F]*$/

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * Strict: only the url-safe alphabet, no padding, no whitespace, and canonical (unused
 * trailing bits zero), so one byte string has exactly one text form.
 */
export function fromBase64Url(text: string): Uint8Array {
  if (!BASE64URL_CHARS.test(text)) throw new EncodingError('base64url', 'unexpected character')
  if (text.length % 4 === 1) throw new EncodingError('base64url', 'impossible length')
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'))
  if (toBase64Url(bytes) !== text) throw new EncodingError('base64url', 'non-canonical trailing bits')
  return bytes
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new EncodingError('hex', 'odd length')
  if (!HEX_CHARS.test(text)) throw new EncodingError('hex', 'unexpected character')
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** Compares in time that depends only on the lengths, never on where the bytes differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0
  for (const part of parts) total += part.length
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export function u32be(value: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, false)
  return out
}

export function readU32be(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false)
}

export function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text)
}

/** Throws a TypeError on invalid UTF-8; callers map it to their own error. */
export function fromUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes)
}
