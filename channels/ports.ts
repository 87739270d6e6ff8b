/** The ports of the conversation pipeline: the lease it runs under, a channel, the handler. */
import type { Conversation, ConversationChannel, Message, OutboxFormat, OutboxItem } from '../crdt/index.js'

/** What the pipeline needs of the leader election (the mesh). */
export interface LeasePort {
  leader(): { role: string; term: number; leaseExpiresAt: number | null }
  /** Throws (LEASE_TERM_STALE) unless this machine leads in exactly `term` with an unexpired lease. */
  fence(term: number): void
  onLease(event: 'lease:acquired', fn: (e: { term: number; signal: AbortSignal }) => void): () => void
  onLease(event: 'lease:lost', fn: (e: { term: number; reason: string }) => void): () => void
}

/** What a channel's receiver and sender run under: the term, fenced before each platform call. */
export interface TermContext {
  term: number
  /** Aborts when the lease of `term` is lost (or the pipeline stops). */
  signal: AbortSignal
  /** Throws (LEASE_TERM_STALE) once `term` is no longer a held lease. */
  fence(): void
  /** When the lease of `term` runs out at the latest, as known now (the leader renews it). */
  leaseExpiresAt(): number | null
}

/**
 * A channel (Telegram, later WhatsApp, Threadline): receives on the leader only, while its
 * term holds, and sends outbox items. Recording inbound messages in the conversations
 * document, idempotently and before the platform is told they arrived, is the channel's job.
 */
export interface Channel {
  readonly name: ConversationChannel
  /** Receives until ctx.signal aborts; resolves then (never rejects for the platform's errors). */
  receive(ctx: TermContext): Promise<void>
  /** Sends one item (ctx.fence() before each platform call); returns the platform's id of the (last) message. */
  send(item: OutboxItem, conversation: Conversation, ctx: TermContext): Promise<{ platformId: string }>
  /** Shows that a reply is being produced (a typing indicator); best effort. */
  typing?(conversation: Conversation, ctx: TermContext): Promise<void>
}

export interface HandlerReply {
  text: string
  format?: OutboxFormat
}

export interface HandlerContext {
  conversation: Conversation
  term: number
  signal: AbortSignal
  /** The conversation's last `limit` messages, oldest first. */
  history(limit: number): Message[]
}

/**
 * The conversation handler: given one received message at a time per conversation. Its
 * replies become outbox items keyed by the message they answer, so a handler run again after
 * a failover queues nothing twice. The sessions issue plugs the agent runner in here.
 */
export interface ConversationHandler {
  handle(message: Message, ctx: HandlerContext): Promise<HandlerReply[] | void>
}

/** The default handler: records only (a person answers with `instar channels send`). */
export const recordOnlyHandler: ConversationHandler = {
  handle: async () => undefined,
}
