/**
 * Admission of inbound connections: the bookkeeping behind the connection gater (gater.ts).
 *
 * Two stages, because a connection says who it is only once its Noise handshake completes:
 *
 *   before Noise   only the remote IP is known. Handshakes in progress are kept per IP and in
 *                  total; one more than an IP's share evicts that IP's oldest handshake, one more
 *                  than the total evicts the oldest handshake of the IP that holds the most. So
 *                  silent sockets cost their sender its own older sockets, not a member its
 *                  dial. A handshake (Noise and the muxer) not done within handshakeTimeoutMs
 *                  is dropped.
 *   after Noise    the peer id is known. A member or the witness is always admitted and counted
 *                  nowhere. A stranger is admitted only while an invitation is open (to pair),
 *                  or while a used or expired one is remembered (only to hear why it is refused),
 *                  within a quota of its own per IP and in total, and for a bounded lifetime.
 *
 * What an attacker sharing a member's IP (the same NAT, or loopback) can still do: open new
 * sockets from that IP faster than the member completes its handshake, so that each evicts the
 * member's handshake before it finishes, or exceed libp2p's per-IP connection rate, which
 * refuses that IP (member included) for the rest of the second. It cannot hold a member out
 * with sockets that merely sit there, nor with stranger connections, which never count against
 * members. From another IP it can only churn its own share.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock } from '../runtime/index.js'
import type { Logger } from '../runtime/index.js'

export interface AdmissionOptions {
  /** How long an inbound connection may take for its Noise handshake and muxer negotiation. */
  handshakeTimeoutMs?: number
  /** Handshakes in progress kept per IP (an IPv6 address counts by its /64); one more evicts the oldest of them. */
  pendingPerIp?: number
  /** Handshakes in progress kept in all; one more evicts the oldest of the IP that holds the most. */
  pendingTotal?: number
  /** New inbound connections per second per IP that libp2p lets start a handshake at all. */
  connectionsPerIpPerSecond?: number
  /** Connections of peers that are not in the roster, per IP. */
  strangersPerIp?: number
  /** Connections of peers that are not in the roster, in all. */
  strangersTotal?: number
  /** How long a stranger may stay connected while an invitation is open (pairing takes well under a second). */
  strangerLifetimeMs?: number
  /** How long a stranger let in only to hear a refusal may stay connected (it is hung up on once answered). */
  refusalLifetimeMs?: number
}

export type ResolvedAdmissionOptions = Required<AdmissionOptions>

export function resolveAdmissionOptions(options: AdmissionOptions = {}): ResolvedAdmissionOptions {
  return {
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
    pendingPerIp: options.pendingPerIp ?? 8,
    pendingTotal: options.pendingTotal ?? 64,
    connectionsPerIpPerSecond: options.connectionsPerIpPerSecond ?? 200,
    strangersPerIp: options.strangersPerIp ?? 4,
    strangersTotal: options.strangersTotal ?? 16,
    strangerLifetimeMs: options.strangerLifetimeMs ?? 20_000,
    refusalLifetimeMs: options.refusalLifetimeMs ?? 5000,
  }
}

/**
 * The key an address is counted under: an IPv4 address, or the /64 prefix of an IPv6 one (one
 * subscriber usually holds a whole /64); an IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function ipKeyOf(address: Multiaddr): string {
  const component = address.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')
  if (component?.value === undefined) return 'other'
  if (component.name === 'ip4') return component.value
  const groups = expandIpv6(component.value)
  if (groups === null) return component.value
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6] ?? 0, groups[7] ?? 0]
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

function expandIpv6(text: string): number[] | null {
  const zone = text.indexOf('%')
  const bare = (zone === -1 ? text : text.slice(0, zone)).toLowerCase()
  let tail = bare
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare)
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    tail = `${bare.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = tail.split('::')
  if (halves.length > 2) return null
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)))
  const head = parse(halves[0] ?? '')
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : []
  const missing = 8 - head.length - rest.length
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null
  const groups = [...head, ...Array<number>(missing).fill(0), ...rest]
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null
}

/** Handshakes in progress, per IP and in total, oldest first. */
export interface HandshakeSlots<T> {
  /** Takes a slot for `handle`; returns the handshake it evicts to make room, if any (the caller drops it). */
  open(handle: T, ip: string): T | undefined
  /** Frees the slot of `handle` (its handshake finished, failed or was dropped). */
  close(handle: T): void
  size(): number
  countOf(ip: string): number
}

export function createHandshakeSlots<T>(limits: { perIp: number; total: number }): HandshakeSlots<T> {
  const all = new Map<T, string>()
  const byIp = new Map<string, Set<T>>()
  const forget = (handle: T): void => {
    const ip = all.get(handle)
    if (ip === undefined) return
    all.delete(handle)
    const set = byIp.get(ip)
    set?.delete(handle)
    if (set?.size === 0) byIp.delete(ip)
  }
  const oldestOf = (ip: string): T | undefined => byIp.get(ip)?.values().next().value
  /** The oldest handshake among the IPs that hold the most: a newcomer from a quiet IP never pays for a busy one. */
  const victim = (): T | undefined => {
    let most = 0
    for (const set of byIp.values()) most = Math.max(most, set.size)
    for (const [handle, ip] of all) if (byIp.get(ip)?.size === most) return handle
    return undefined
  }
  return {
    open(handle, ip) {
      let evicted: T | undefined
      if ((byIp.get(ip)?.size ?? 0) >= limits.perIp) evicted = oldestOf(ip)
      else if (all.size >= limits.total) evicted = victim()
      if (evicted !== undefined) forget(evicted)
      all.set(handle, ip)
      const set = byIp.get(ip) ?? new Set<T>()
      set.add(handle)
      byIp.set(ip, set)
      return evicted
    },
    close: forget,
    size: () => all.size,
    countOf: (ip) => byIp.get(ip)?.size ?? 0,
  }
}

/** Connections of strangers, per IP and in total; a stranger that has since joined the roster no longer counts. */
export interface StrangerQuota<T> {
  /** Counts `handle` if the quota has room and returns true; else false. */
  admit(handle: T, entry: { ip: string; peerId: string }): boolean
  release(handle: T): void
  /** Strangers counted now (after dropping those that joined). */
  size(): number
}

export function createStrangerQuota<T>(limits: { perIp: number; total: number }, isParticipant: (peerId: string) => boolean): StrangerQuota<T> {
  const entries = new Map<T, { ip: string; peerId: string }>()
  const prune = (): void => {
    for (const [handle, entry] of entries) if (isParticipant(entry.peerId)) entries.delete(handle)
  }
  return {
    admit(handle, entry) {
      prune()
      if (entries.size >= limits.total) return false
      let sameIp = 0
      for (const other of entries.values()) if (other.ip === entry.ip) sameIp++
      if (sameIp >= limits.perIp) return false
      entries.set(handle, entry)
      return true
    },
    release: (handle) => void entries.delete(handle),
    size() {
      prune()
      return entries.size
    },
  }
}

/** Logs a code at most once per interval (a flood of refusals must not flood the log), with how many were not logged. */
export function createThrottledLog(clock: Clock, logger: Logger, intervalMs = 10_000): (level: 'debug' | 'warn', code: string, fields: object, message: string) => void {
  const last = new Map<string, { at: number; suppressed: number }>()
  return (level, code, fields, message) => {
    const now = clock.now()
    const seen = last.get(code)
    if (seen !== undefined && now - seen.at < intervalMs) {
      seen.suppressed++
      return
    }
    last.set(code, { at: now, suppressed: 0 })
    logger[level]({ code, ...fields, ...(seen !== undefined && seen.suppressed > 0 ? { suppressed: seen.suppressed } : {}) }, message)
  }
}
