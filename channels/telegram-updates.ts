/**
 * A Telegram update, checked before it becomes anything of ours: update_id first (so even an
 * update whose body is refused can be passed by the offset), then the message with the fields
 * the channel reads, each bounded. Anything else in the update is ignored.
 */
import { z } from 'zod'
import type { Attachment } from '../crdt/index.js'
import { ChannelUpdateMalformedError } from './errors.js'

const id = z.number().int().min(-(2 ** 53 - 1)).max(2 ** 53 - 1)
const name = z.string().max(256)
const file = z.object({ file_id: z.string().min(1).max(256), file_name: name.optional(), mime_type: z.string().max(128).optional(), file_size: z.number().int().min(0).optional() })

const telegramUser = z.object({ id: id.min(1), is_bot: z.boolean(), first_name: name, last_name: name.optional(), username: z.string().max(64).optional() })
const telegramChat = z.object({ id, type: z.enum(['private', 'group', 'supergroup', 'channel']), title: name.optional(), first_name: name.optional(), last_name: name.optional(), username: z.string().max(64).optional(), is_forum: z.boolean().optional() })
const telegramMessage = z.object({
  message_id: id.min(0),
  message_thread_id: id.min(0).optional(),
  is_topic_message: z.boolean().optional(),
  from: telegramUser.optional(),
  chat: telegramChat,
  date: z.number().int().min(0).max(8.64e12),
  text: z.string().max(16_384).optional(),
  caption: z.string().max(16_384).optional(),
  photo: z.array(file).max(16).optional(),
  document: file.optional(),
  voice: file.optional(),
  audio: file.optional(),
  video: file.optional(),
  sticker: file.optional(),
  forum_topic_created: z.object({ name }).optional(),
})
const updateId = z.object({ update_id: z.number().int().min(0).max(2 ** 52) })
const telegramUpdate = z.object({ update_id: z.number().int().min(0).max(2 ** 52), message: telegramMessage.optional() })

export type TelegramMessage = z.infer<typeof telegramMessage>

export type ParsedUpdate =
  | { kind: 'message'; updateId: number; message: TelegramMessage }
  | { kind: 'ignored'; updateId: number }
  | { kind: 'malformed'; updateId: number | null; error: ChannelUpdateMalformedError }

export function parseUpdate(raw: unknown): ParsedUpdate {
  const head = updateId.safeParse(raw)
  if (!head.success) return { kind: 'malformed', updateId: null, error: new ChannelUpdateMalformedError(null, 'no valid update_id') }
  const full = telegramUpdate.safeParse(raw)
  if (!full.success) {
    const issue = full.error.issues[0]
    return { kind: 'malformed', updateId: head.data.update_id, error: new ChannelUpdateMalformedError(head.data.update_id, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`.slice(0, 300)) }
  }
  const message = full.data.message
  if (message === undefined || message.from === undefined || message.from.is_bot || message.chat.type === 'channel') return { kind: 'ignored', updateId: full.data.update_id }
  return { kind: 'message', updateId: full.data.update_id, message }
}

/** The conversation a message belongs to: a private chat, a group, or one forum topic of a supergroup. */
export function conversationOf(message: TelegramMessage): { id: string; chatId: string; topicId: string | null; title: string } {
  const chatId = String(message.chat.id)
  const topicId = message.is_topic_message === true && message.message_thread_id !== undefined ? String(message.message_thread_id) : null
  const chatTitle = message.chat.title ?? [message.chat.first_name, message.chat.last_name].filter((s) => s !== undefined).join(' ')
  const title = topicId === null ? chatTitle : `${chatTitle} / ${message.forum_topic_created?.name ?? `topic ${topicId}`}`
  return { id: topicId === null ? `telegram:${chatId}` : `telegram:${chatId}:${topicId}`, chatId, topicId, title: title.slice(0, 256) }
}

export function displayNameOf(message: TelegramMessage): string {
  const from = message.from
  if (from === undefined) return 'unknown'
  const full = [from.first_name, from.last_name].filter((s) => s !== undefined && s.trim() !== '').join(' ').replace(/[\u0000-\u001f\u007f]/g, ' ').trim()
  return (full === '' ? (from.username ?? `user ${from.id}`) : full).slice(0, 100)
}

export function attachmentsOf(message: TelegramMessage): Attachment[] {
  const out: Attachment[] = []
  const add = (kind: string, f: z.infer<typeof file> | undefined): void => {
    if (f !== undefined) out.push({ kind, fileId: f.file_id, name: f.file_name ?? null, mime: f.mime_type ?? null, size: f.file_size ?? null })
  }
  // The largest size of a photo is the last.
  add('photo', message.photo?.at(-1))
  add('document', message.document)
  add('voice', message.voice)
  add('audio', message.audio)
  add('video', message.video)
  add('sticker', message.sticker)
  return out
}
