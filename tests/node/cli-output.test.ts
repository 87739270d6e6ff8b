import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createOutput, escapeControls, inline, reportError } from '../../node/cli-output.js'
import { NodeApiError } from '../../node/errors.js'

function capture(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough()
  const chunks: Buffer[] = []
  stream.on('data', (c: Buffer) => chunks.push(c))
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') }
}

describe('text output', () => {
  it('escapes C0 and C1 controls, DEL and the bidi controls, and keeps tabs, line breaks and other text', () => {
    expect(escapeControls('a\u0000b\u0007c\u001b[31md\re\u007ff\u0085g\u009bh')).toBe('a\\x00b\\x07c\\x1b[31md\\x0de\\x7ff\\x85g\\x9bh')
    expect(escapeControls('\u202eexe.txt \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c \u2028\u2029')).toBe(
      '\\u202eexe.txt \\u202a\\u202b\\u202c\\u202d \\u2066\\u2067\\u2068\\u2069 \\u200e\\u200f\\u061c \\u2028\\u2029',
    )
    expect(escapeControls('one\ttwo\nthree é 中 😀')).toBe('one\ttwo\nthree é 中 😀')
    expect(inline('one\ntwo')).toBe('one\\ntwo')
  })

  it('prints human text escaped and --json exact', () => {
    const text = capture()
    createOutput(false, text.stream, text.stream).result({ t: '\u001b' }, () => 'x\u001by')
    expect(text.text()).toBe('x\\x1by\n')
    const json = capture()
    createOutput(true, json.stream, json.stream).result({ t: '\u001b\u202e' }, () => 'unused')
    expect(JSON.parse(json.text())).toEqual({ t: '\u001b\u202e' })
  })

  it('escapes an error message on its one line', () => {
    const out = capture()
    const err = capture()
    reportError(new NodeApiError('NODE_API_ERROR', 500, 'bad\u001b]0;x\u0007\nsecond line'), false, out.stream, err.stream)
    expect(err.text()).toBe('instar: bad\\x1b]0;x\\x07\\nsecond line [NODE_API_ERROR]\n')
  })
})
