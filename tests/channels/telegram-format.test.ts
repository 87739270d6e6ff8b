import { describe, expect, it } from 'vitest'
import { markdownToTelegram, textToTelegram, TELEGRAM_MESSAGE_LIMIT } from '../../channels/index.js'

/** Each message's tags open and close in order (so no message ends inside an entity). */
function balanced(html: string): boolean {
  const stack: string[] = []
  for (const m of html.matchAll(/<(\/?)([a-z-]+)[^>]*>/g)) {
    if (m[1] === '') stack.push(m[2] as string)
    else if (stack.pop() !== m[2]) return false
  }
  return stack.length === 0
}
const text = (html: string): string => html.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&')

describe('markdown to Telegram HTML', () => {
  it('renders emphasis (nested), code, links and quotes, and escapes the rest', () => {
    const [html] = markdownToTelegram('**bold _and it_** ~~gone~~ `a<b>` [site](https://x.org/?a=1&b="2") 1 < 2 & 3 > 2\n\n> quoted')
    expect(html).toBe('<b>bold <i>and it</i></b> <s>gone</s> <code>a&lt;b&gt;</code> <a href="https://x.org/?a=1&amp;b=&quot;2&quot;">site</a> 1 &lt; 2 &amp; 3 &gt; 2\n\n<blockquote>quoted</blockquote>')
  })

  it('keeps a fenced code block with its language, and drops a link whose scheme is not web or tg', () => {
    const [html] = markdownToTelegram('```ts\nconst x = a < b\n```\n\n[click](javascript:alert(1))')
    expect(html).toBe('<pre><code class="language-ts">const x = a &lt; b</code></pre>\n\nclick')
  })

  it('renders lists with bullets and numbers, nested ones indented', () => {
    const [html] = markdownToTelegram('- one\n- **two**\n  1. inner\n\n3. three\n4. four')
    expect(html).toBe('• one\n• <b>two</b>\n  1. inner\n\n3. three\n4. four')
  })

  it('splits at paragraph boundaries, each message within the limit', () => {
    const paragraph = `${'word '.repeat(150).trim()} **bold end**`
    const md = Array.from({ length: 12 }, () => paragraph).join('\n\n')
    const parts = markdownToTelegram(md)
    expect(parts.length).toBeGreaterThan(1)
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_LIMIT)
      expect(balanced(p)).toBe(true)
      // Whole paragraphs only.
      expect(p.split('\n\n').every((x) => x.endsWith('<b>bold end</b>'))).toBe(true)
    }
    expect(parts.join('\n\n').split('\n\n')).toHaveLength(12)
  })

  it('cuts a long code block between lines, each part its own pre block', () => {
    const lines = Array.from({ length: 600 }, (_, i) => `line ${i}: if (a < b && c > d) {}`)
    const parts = markdownToTelegram(`\`\`\`js\n${lines.join('\n')}\n\`\`\``)
    expect(parts.length).toBeGreaterThan(1)
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_LIMIT)
      expect(p.startsWith('<pre><code class="language-js">') && p.endsWith('</code></pre>')).toBe(true)
    }
    expect(parts.map((p) => text(p)).join('\n')).toBe(lines.join('\n'))
  })

  it('never cuts inside an entity at the split point: a link or bold run moves whole to the next message', () => {
    const limit = 100
    const md = `${'x '.repeat(40)}**a bold run that would straddle** and [a link](https://example.org/path) end`
    const parts = markdownToTelegram(md, limit)
    expect(parts.length).toBeGreaterThan(1)
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(limit)
      expect(balanced(p)).toBe(true)
    }
    expect(parts.some((p) => p.includes('<b>a bold run that would straddle</b>'))).toBe(true)
    expect(parts.some((p) => p.includes('<a href="https://example.org/path">a link</a>'))).toBe(true)
  })

  it('cuts an entity longer than a message as plain text, never between the characters of an escape', () => {
    const parts = markdownToTelegram(`**${'&'.repeat(300)}**`, 100)
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(100)
      expect(balanced(p)).toBe(true)
      expect(p.replace(/&amp;/g, '')).not.toContain('&')
    }
    expect(parts.map(text).join('')).toBe('&'.repeat(300))
  })

  it('escapes plain text and splits it at paragraph breaks', () => {
    const parts = textToTelegram(`a < b\n\n${'y'.repeat(60)}`, 40)
    expect(parts[0]).toBe('a &lt; b')
    expect(parts.every((p) => p.length <= 40)).toBe(true)
  })
})
