/**
 * What a session is told before the message: the agent's identity text, the person it talks
 * to, the memory entries that best match the message, and the conversation's recent messages,
 * within `budget` characters in all. Pure.
 *
 * When it does not all fit, the parts give way in this order: the oldest recent messages
 * first, then the weakest memory matches, then the person's notes; the identity is kept
 * whole up to half the budget (past that it is cut, with a mark), since it is what keeps
 * the agent itself. The session can ask for more through MCP (memory_search, person_lookup).
 */

export interface ContextPerson {
  name: string
  identities: string[]
  notes: string
  lastInteraction: number | null
}

export interface ContextMemory {
  topic: string
  text: string
}

export interface ContextMessage {
  /** 'in' from the person, 'out' from the agent. */
  direction: 'in' | 'out'
  text: string
  at: number
}

export interface ContextParts {
  identity: string
  person: ContextPerson | null
  /** Best match first. */
  memories: ContextMemory[]
  /** Oldest first, the message being answered not included. */
  recent: ContextMessage[]
}

export const CUT = ' […]'

function cut(text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= CUT.length) return ''
  return text.slice(0, max - CUT.length) + CUT
}

const iso = (ms: number): string => new Date(ms).toISOString()

export function assembleContext(parts: ContextParts, budget: number): string {
  if (!Number.isInteger(budget) || budget < 0) throw new RangeError(`budget must be a non-negative integer, not ${budget}`)
  const sections: string[] = []
  let left = budget
  const take = (text: string): boolean => {
    const cost = text.length + (sections.length === 0 ? 0 : 2)
    if (cost > left) return false
    sections.push(text)
    left -= cost
    return true
  }

  const identity = parts.identity.trim()
  if (identity !== '') take(`# Who you are\n${cut(identity, Math.max(0, Math.floor(budget / 2) - 16))}`)

  if (parts.person !== null) {
    const p = parts.person
    const head = `# Who you are talking to\n${p.name}${p.identities.length === 0 ? '' : ` (${p.identities.join(', ')})`}${p.lastInteraction === null ? '' : `; last talked ${iso(p.lastInteraction)}`}`
    if (take(head) && p.notes.trim() !== '') {
      const notes = `Notes: ${p.notes.trim()}`
      if (!take(notes)) take(cut(notes, left - 2))
    }
  }

  const memories: string[] = []
  for (const m of parts.memories) {
    const line = `- [${m.topic}] ${m.text.replace(/\s+/g, ' ').trim()}`
    const cost = line.length + 1 + (memories.length === 0 ? '# What you remember that may matter\n'.length + 2 : 0)
    if (cost > left) break
    memories.push(line)
    left -= cost
  }
  if (memories.length > 0) sections.push(`# What you remember that may matter\n${memories.join('\n')}`)

  // Newest first while they fit, then shown oldest first.
  const header = '# The conversation so far'
  const kept: string[] = []
  let room = left - header.length - 3
  for (let i = parts.recent.length - 1; i >= 0; i--) {
    const m = parts.recent[i] as ContextMessage
    const line = `${m.direction === 'in' ? 'them' : 'you'} (${iso(m.at)}): ${m.text}`
    if (line.length + 1 > room) break
    kept.unshift(line)
    room -= line.length + 1
  }
  if (kept.length > 0) sections.push(`${header}\n${kept.join('\n')}`)
  return sections.join('\n\n')
}
