/**
 * What a machine does when its roster changes: learn the mesh key epochs newly sealed to it
 * (a removal rotates the key), drop every connection the roster no longer admits (a removed
 * machine, or all of them if this machine was removed), and push the roster to every
 * participant shortly after, so a burst of changes goes out as one push.
 */
import type { MeshKey } from '../identity/index.js'
import type { Clock, Logger } from '../runtime/index.js'
import type { MeshLibp2p } from './host.js'
import type { Roster } from './roster.js'

export interface RosterChangeDeps {
  clock: Clock
  logger: Logger
  libp2p: MeshLibp2p
  selfPeerId: string
  machineSeed: Uint8Array
  /** The roster and the mesh key epochs held now, or null before this machine is in a mesh. */
  state(): { roster: Roster; keys: MeshKey[] } | null
  /** Keeps the epochs (persisted, announced) once new ones are learned; oldest first. */
  learnKeys(keys: MeshKey[]): void
  /** True while this machine removes itself: it hangs up itself, after telling the others. */
  leaving(): boolean
  push(peerId: string): Promise<void>
  pushAll(): void
  /** Dial members now rather than at the next backoff. */
  kick(): void
}

export interface RosterChangeHandler {
  onChange(): void
  /** Cancels a push not yet sent. */
  stop(): void
}

export function createRosterChangeHandler(deps: RosterChangeDeps, options: { pushDelayMs?: number } = {}): RosterChangeHandler {
  const { clock, logger, libp2p, selfPeerId } = deps
  let pushTimer: { cancel(): void } | null = null
  return {
    onChange() {
      const state = deps.state()
      if (state === null) return
      const roster = state.roster
      // Learn mesh key epochs sealed to us (a removal rotates the key).
      const known = new Set(state.keys.map((k) => k.epoch))
      const fresh = roster.meshKeysFor(deps.machineSeed).filter((k) => !known.has(k.epoch))
      if (fresh.length > 0) {
        deps.learnKeys([...state.keys, ...fresh].sort((a, b) => a.epoch - b.epoch))
        logger.info({ epochs: fresh.map((k) => k.epoch) }, 'learned new mesh key epochs')
      }
      // Drop every connection the roster no longer admits (a removed machine, or us if we were removed).
      const selfRemoved = roster.wasRemoved(selfPeerId) && !deps.leaving()
      for (const connection of libp2p.getConnections()) {
        const peerId = connection.remotePeer.toString()
        if (!selfRemoved && !roster.wasRemoved(peerId)) continue
        // A close that fails is ended by the abort; the close's error says nothing more.
        const close = (): void => void connection.close().catch(() => connection.abort(new Error('removed')))
        // A removed machine hears of its removal before we hang up, so it knows why it is refused.
        if (selfRemoved) close()
        else void deps.push(peerId).finally(close)
      }
      pushTimer?.cancel()
      pushTimer = clock.setTimeout(() => {
        pushTimer = null
        deps.pushAll()
      }, options.pushDelayMs ?? 20)
      deps.kick()
    },
    stop() {
      pushTimer?.cancel()
      pushTimer = null
    },
  }
}
