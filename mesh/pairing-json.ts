/**
 * The pairing protocol's hardened JSON reader: strict UTF-8, bounded nesting (checked by a
 * linear scan before JSON.parse can recurse), no prototype keys, then a schema. Every
 * failure is a PairingFrameMalformedError that names the body but never quotes it.
 */
import type { z } from 'zod'
import { PairingFrameMalformedError } from './errors.js'
import { describeIssue } from './pairing-fields.js'

/** Our bodies nest three levels deep; anything much deeper is hostile. */
const MAX_JSON_DEPTH = 8
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8, bounded nesting, JSON without prototype keys, then the schema. */
export function parseBody<S extends z.ZodType>(schema: S, body: Uint8Array, what: string): z.output<S> {
  return checkBody(schema, parseJson(body, what), what)
}

/** UTF-8, bounded nesting, JSON without prototype keys; the value is not yet trusted. */
export function parseJson(body: Uint8Array, what: string): unknown {
  let text: string
  try {
    text = utf8Decoder.decode(body)
  } catch {
    throw new PairingFrameMalformedError(`${what} body is not UTF-8`)
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new PairingFrameMalformedError(`${what} body is nested too deeply`)
  let parsed: unknown
  let forbidden: string | undefined
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) forbidden ??= key
      return value
    })
  } catch {
    // No cause: JSON.parse's message quotes the input.
    throw new PairingFrameMalformedError(`${what} body is not JSON`)
  }
  if (forbidden !== undefined) throw new PairingFrameMalformedError(`${what} body holds the forbidden key "${forbidden}"`)
  return parsed
}

export function checkBody<S extends z.ZodType>(schema: S, parsed: unknown, what: string): z.output<S> {
  const result = schema.safeParse(parsed)
  if (!result.success) throw new PairingFrameMalformedError(`${what} ${describeIssue(result.error)}`)
  return result.data
}

/** Deepest bracket nesting outside strings; a linear scan, so hostile input costs no recursion. */
function jsonDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (escaped) escaped = false
      else if (c === 0x5c /* \ */) escaped = true
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++
      if (depth > deepest) deepest = depth
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--
  }
  return deepest
}
