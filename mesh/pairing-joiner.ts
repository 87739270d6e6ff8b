/**
 * The joiner's side of pairing over libp2p: read the invitation, dial the inviter on the
 * pairing protocol, prove it holds the invitation's secret, check the inviter's proof, open
 * the welcome box and check that its roster can found this machine's roster. A joiner knows
 * from its invitation whether it joins as a member or a witness, and refuses the other kind.
 */
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { generateSeed, keyPairFromSeed, openSealed, toHex } from '../identity/index.js'
import type { Clock } from '../runtime/index.js'
import {
  MeshError,
  PairingAlreadyMemberError,
  PairingFrameMalformedError,
  PairingInviterUnreachableError,
  PairingNoAnswerError,
  PairingRefusedError,
  PairingRoleMismatchError,
  PairingWelcomeInvalidError,
} from './errors.js'
import { frameStream } from './frame-stream.js'
import type { MeshLibp2p } from './host.js'
import { readInvitation, type Invitation, type InvitationRole } from './invitation.js'
import { MAX_PAIRING_FRAME, PAIRING_PROTOCOL, decodePairingMessage, encodePairingMessage } from './pairing-protocol.js'
import { acceptProof, checkProof, joinProof, pairingTranscript } from './pairing-transcript.js'
import { decodeWelcome, type Welcome } from './pairing-welcome.js'
import { machinePeerId, meshIdFromAgentKey } from './roster-events.js'
import { welcomeGenesis } from './roster-genesis.js'

export interface JoinDeps {
  clock: Clock
  libp2p: MeshLibp2p
  machineSeed: Uint8Array
  /** Lets the gater admit the outbound connection to the inviter while joining. */
  setJoining(peerId: string | null): void
}

export interface JoinResult {
  invitation: Invitation
  welcome: Welcome
  agentPublicKey: Uint8Array
}

/**
 * Joins the mesh an invitation names, as a member or (role "witness") as a witness; throws
 * PairingRoleMismatchError before dialling when the invitation is for the other kind, and the
 * inviter's refusal code when it refuses.
 */
export async function joinMesh(
  deps: JoinDeps,
  token: string,
  joiner: { name: string; addresses: string[] },
  options: { timeoutMs?: number; signal?: AbortSignal; role?: InvitationRole } = {},
): Promise<JoinResult> {
  const role = options.role ?? 'member'
  const invitation = readInvitation(token, deps.clock.now())
  if (invitation.role !== role) throw new PairingRoleMismatchError(invitation.role)
  const machine = keyPairFromSeed(deps.machineSeed)
  if (invitation.inviterPeerId === machinePeerId(machine.publicKey)) {
    throw new PairingAlreadyMemberError('this invitation was made by this very machine; run "instar mesh pair <invitation>" on the new machine')
  }
  const signal = deps.clock.timeoutSignal(options.timeoutMs ?? 15_000, options.signal === undefined ? {} : { signal: options.signal })
  const nonce = generateSeed()
  const transcript = pairingTranscript({
    inviteId: invitation.inviteId,
    meshId: invitation.meshId,
    inviterPublicKey: invitation.inviterPublicKey,
    joinerPublicKey: machine.publicKey,
    nonce,
  })
  deps.setJoining(invitation.inviterPeerId)
  let replyFrame: Uint8Array
  try {
    let stream: Stream
    try {
      const targets = invitation.addresses.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${invitation.inviterPeerId}`))
      stream = await deps.libp2p.dialProtocol(targets, PAIRING_PROTOCOL, { signal })
    } catch (err) {
      throw new PairingInviterUnreachableError(invitation.addresses, { cause: err })
    }
    const frames = frameStream(stream, MAX_PAIRING_FRAME)
    await frames.write(
      encodePairingMessage({
        type: 'join-request',
        inviteId: invitation.inviteId,
        joiner: { publicKey: machine.publicKey, name: joiner.name, addresses: joiner.addresses.slice(0, 16) },
        nonce,
        proof: joinProof(invitation.secret, transcript),
      }),
      { signal },
    )
    try {
      replyFrame = await frames.read({ signal })
    } catch (err) {
      throw new PairingNoAnswerError({ cause: err })
    }
    await frames.close()
  } finally {
    deps.setJoining(null)
  }
  const reply = decodePairingMessage(replyFrame)
  if (reply.type === 'join-reject') throw new PairingRefusedError(reply.code, reply.message)
  if (reply.type !== 'join-accept') throw new PairingFrameMalformedError('expected an accept or a reject')
  checkProof(acceptProof(invitation.secret, transcript), reply.proof, 'inviter')
  let welcome: Welcome
  try {
    welcome = decodeWelcome(openSealed(machine.x25519SecretKey, reply.welcome, transcript), role)
  } catch (err) {
    if (err instanceof MeshError) throw err
    throw new PairingWelcomeInvalidError('the inviter\'s welcome box could not be opened', { cause: err })
  }
  const agentPublicKey = welcome.role === 'witness' ? welcome.agent.publicKey : keyPairFromSeed(welcome.agent.seed).publicKey
  if (welcome.meshId !== invitation.meshId || meshIdFromAgentKey(agentPublicKey) !== invitation.meshId) {
    throw new PairingWelcomeInvalidError('the welcome names another mesh than the invitation')
  }
  // The genesis this machine will pin: the welcome's roster must hold exactly one.
  try {
    welcomeGenesis(welcome.roster, toHex(agentPublicKey), invitation.meshId)
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ROSTER_EVENT_INVALID'
    throw new PairingWelcomeInvalidError(`the welcome's roster cannot found this machine's roster [${code}]: ${(err as Error).message}`, { cause: err })
  }
  return { invitation, welcome, agentPublicKey }
}
