/**
 * Markdown from the agent → Telegram's HTML (parse_mode HTML), cut into messages of at most
 * TELEGRAM_MESSAGE_LIMIT characters. Parsed by marked's lexer (a CommonMark/GFM parser, no
 * regex converter); the tokens are rendered to the tags Telegram knows (b, i, s, code, pre, a,
 * blockquote), everything else to text, and every text escaped.
 *
 * Cutting: blocks (paragraphs, code blocks, lists, quotes, headings) are packed whole, joined
 * by a blank line. A block longer than the limit is cut between its own parts: a code block
 * between lines (each part its own <pre>), a list between items, any other block between its
 * top-level inline parts (words of plain text, or one whole entity such as a link or a bold
 * run). Only an entity that alone is longer than the limit loses its formatting, cut as plain
 * text at spaces. So no message ever ends inside an entity. The length measured is that of
 * the HTML, which is never less than the text Telegram counts: a conservative bound.
 */
import { marked, type Token, type Tokens } from 'marked'

export const TELEGRAM_MESSAGE_LIMIT = 4096

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const escapeAttr = (s: string): string => escapeHtml(s).replace(/"/g, '&quot;')
const SAFE_URL = /^(https?:|tg:|mailto:)/i

function inline(tokens: Token[] | undefined): string {
  return (tokens ?? []).map(inlineToken).join('')
}

function inlineToken(t: Token): string {
  switch (t.type) {
    case 'strong':
      return `<b>${inline((t as Tokens.Strong).tokens)}</b>`
    case 'em':
      return `<i>${inline((t as Tokens.Em).tokens)}</i>`
    case 'del':
      return `<s>${inline((t as Tokens.Del).tokens)}</s>`
    case 'codespan':
      return `<code>${escapeHtml((t as Tokens.Codespan).text)}</code>`
    case 'br':
      return '\n'
    case 'link': {
      const link = t as Tokens.Link
      const label = inline(link.tokens)
      return SAFE_URL.test(link.href) ? `<a href="${escapeAttr(link.href)}">${label}</a>` : label
    }
    case 'image': {
      const image = t as Tokens.Image
      return SAFE_URL.test(image.href) ? `<a href="${escapeAttr(image.href)}">${escapeHtml(image.text || image.href)}</a>` : escapeHtml(image.text)
    }
    case 'text': {
      const text = t as Tokens.Text
      return text.tokens !== undefined && text.tokens.length > 0 ? inline(text.tokens) : escapeHtml(text.text)
    }
    case 'escape':
    case 'html':
      return escapeHtml((t as Tokens.Escape).text)
    default:
      return escapeHtml('text' in t && typeof t.text === 'string' ? t.text : t.raw)
  }
}

/** One rendered block, and how it may be cut when it is too long. */
interface Block {
  html: string
  /** Smaller pieces this block may be cut into (each valid HTML on its own), joined by `joiner`. */
  parts: () => Block[]
  joiner: string
  /** Wraps a run of parts back into this block's container (a <pre>, a <blockquote>). */
  wrap: (inner: string) => string
}

const leaf = (html: string): Block => ({ html, parts: () => [], joiner: '', wrap: (s) => s })

function inlineBlock(tokens: Token[] | undefined, open = '', close = ''): Block {
  const html = `${open}${inline(tokens)}${close}`
  return {
    html,
    joiner: '',
    wrap: (s) => `${open}${s}${close}`,
    // Words of plain text, or one whole entity: never cut inside a tag.
    parts: () => (tokens ?? []).flatMap((t) => (t.type === 'text' && (t as Tokens.Text).tokens === undefined ? escapeHtml((t as Tokens.Text).text).split(/(?<=\s)/) : [inlineToken(t)])).map(leaf),
  }
}

function listItems(list: Tokens.List, depth: number): string[] {
  const start = typeof list.start === 'number' ? list.start : 1
  return list.items.map((item, i) => {
    const bullet = list.ordered ? `${start + i}.` : item.task ? (item.checked === true ? '☑' : '☐') : '•'
    const inner = item.tokens
      .map((t) => (t.type === 'list' ? `\n${listItems(t as Tokens.List, depth + 1).join('\n')}` : t.type === 'text' || t.type === 'paragraph' ? inline((t as Tokens.Text).tokens ?? [{ type: 'text', raw: (t as Tokens.Text).text, text: (t as Tokens.Text).text } as Token]) : renderBlock(t)?.html ?? ''))
      .join('')
    return `${'  '.repeat(depth)}${bullet} ${inner}`
  })
}

function renderBlock(t: Token): Block | null {
  switch (t.type) {
    case 'space':
      return null
    case 'paragraph':
      return inlineBlock((t as Tokens.Paragraph).tokens)
    case 'heading':
      return inlineBlock((t as Tokens.Heading).tokens, '<b>', '</b>')
    case 'code': {
      const code = t as Tokens.Code
      const lang = (code.lang ?? '').split(/\s/)[0] ?? ''
      const open = lang !== '' && /^[A-Za-z0-9_+-]{1,32}$/.test(lang) ? `<pre><code class="language-${lang}">` : '<pre>'
      const close = open === '<pre>' ? '</pre>' : '</code></pre>'
      return { html: `${open}${escapeHtml(code.text)}${close}`, joiner: '\n', wrap: (s) => `${open}${s}${close}`, parts: () => code.text.split('\n').map((line) => leaf(escapeHtml(line))) }
    }
    case 'blockquote': {
      const inner = ((t as Tokens.Blockquote).tokens ?? []).map(renderBlock).filter((b): b is Block => b !== null)
      return { html: `<blockquote>${inner.map((b) => b.html).join('\n\n')}</blockquote>`, joiner: '\n\n', wrap: (s) => `<blockquote>${s}</blockquote>`, parts: () => inner }
    }
    case 'list': {
      const items = listItems(t as Tokens.List, 0)
      return { html: items.join('\n'), joiner: '\n', wrap: (s) => s, parts: () => items.map(leaf) }
    }
    case 'hr':
      return leaf('———')
    case 'table': {
      const table = t as Tokens.Table
      const rows = [table.header.map((c) => c.text).join(' | '), ...table.rows.map((r) => r.map((c) => c.text).join(' | '))]
      return { html: `<pre>${escapeHtml(rows.join('\n'))}</pre>`, joiner: '\n', wrap: (s) => `<pre>${s}</pre>`, parts: () => rows.map((r) => leaf(escapeHtml(r))) }
    }
    default:
      return leaf(escapeHtml(t.raw.trim()))
  }
}

/** Plain text (tags dropped, entities kept) cut at spaces into pieces of at most `limit`. */
function hardCut(html: string, limit: number): string[] {
  const text = html.replace(/<[^>]*>/g, '')
  const out: string[] = []
  let rest = text
  while (rest.length > limit) {
    let at = rest.lastIndexOf(' ', limit)
    if (at <= 0) {
      at = limit
      // Never between the characters of an escaped entity (&amp; &lt; &gt; &quot;).
      const amp = rest.lastIndexOf('&', at - 1)
      if (amp > 0 && amp > at - 6 && rest.indexOf(';', amp) >= at) at = amp
    }
    out.push(rest.slice(0, at))
    rest = rest.slice(at).replace(/^ /, '')
  }
  if (rest.length > 0) out.push(rest)
  return out
}

/** Packs blocks into messages of at most `limit`, cutting a block that is too long between its parts. */
function pack(blocks: Block[], joiner: string, limit: number, wrap: (s: string) => string): string[] {
  const overhead = wrap('').length
  const room = limit - overhead
  const out: string[] = []
  let current = ''
  const flush = (): void => {
    if (current !== '') out.push(wrap(current))
    current = ''
  }
  for (const block of blocks) {
    const candidate = current === '' ? block.html : `${current}${joiner}${block.html}`
    if (candidate.length <= room) {
      current = candidate
      continue
    }
    flush()
    if (block.html.length <= room) {
      current = block.html
      continue
    }
    const parts = block.parts()
    const pieces = parts.length > 1 ? pack(parts, block.joiner, room, block.wrap) : hardCut(block.html, room)
    out.push(...pieces.slice(0, -1).map(wrap))
    current = pieces.at(-1) ?? ''
  }
  flush()
  return out
}

/** Markdown → Telegram HTML messages, each at most `limit` characters (never empty: at least one). */
export function markdownToTelegram(markdown: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  const blocks = marked.lexer(markdown, { gfm: true }).map(renderBlock).filter((b): b is Block => b !== null && b.html.trim() !== '')
  const out = pack(blocks, '\n\n', limit, (s) => s).filter((m) => m.trim() !== '')
  return out.length > 0 ? out : [escapeHtml(markdown.slice(0, limit)) || '…']
}

/** Plain text → messages of at most `limit`, escaped for parse_mode HTML, cut at paragraph breaks, else spaces. */
export function textToTelegram(text: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  const paragraphs = text.split(/\n{2,}/).map((p) => ({ ...leaf(escapeHtml(p)), parts: () => escapeHtml(p).split(/(?<=\s)/).map(leaf) }))
  const out = pack(paragraphs, '\n\n', limit, (s) => s).filter((m) => m.trim() !== '')
  return out.length > 0 ? out : ['…']
}
