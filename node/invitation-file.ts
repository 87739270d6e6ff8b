/**
 * The inviter's invitations kept in `invitations.json` (0600), so that a node restart does not
 * forget an invitation someone is about to use, nor let a used one be used again. It holds no
 * secret: each invitation's secret is derived from the machine key and the record's nonce.
 * A damaged file is set aside as `invitations.json.bad` with a warning; the node starts with
 * no open invitations rather than refusing to start.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import type { InvitationRecord, InvitationStore } from '../mesh/index.js'
import type { Logger } from '../runtime/index.js'

const recordSchema = z.strictObject({
  nonce: z.string().regex(/^[0-9a-f]{64}$/),
  meshId: z.string().regex(/^m[0-9a-f]{32}$/),
  addresses: z.array(z.string().min(1).max(256)).max(16),
  role: z.enum(['member', 'witness']),
  issuedAt: z.number().int().min(0),
  expiresAt: z.number().int().min(0),
  used: z.boolean(),
})
const fileSchema = z.strictObject({ version: z.literal(1), invitations: z.array(recordSchema).max(10_000) })

export function createInvitationFile(path: string, logger: Logger): InvitationStore {
  return {
    load() {
      if (!existsSync(path)) return []
      let problem: string
      try {
        const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')))
        if (parsed.success) return parsed.data.invitations
        const issue = parsed.error.issues[0]
        problem = `field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`
      } catch (err) {
        problem = err instanceof SyntaxError ? 'it is not JSON' : `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`
      }
      const aside = `${path}.bad`
      try {
        renameSync(path, aside)
      } catch {
        // Left where it is: the next save replaces it.
      }
      logger.warn({ code: 'INVITATIONS_FILE_INVALID', path, problem }, `${path} is damaged (${problem}); open invitations were dropped and the file was set aside as ${aside}`)
      return []
    },
    save(records: InvitationRecord[]) {
      // Written whole, flushed, then renamed over the old file: a crash leaves the old or the new.
      const tmp = join(dirname(path), `.invitations.json.${process.pid}.tmp`)
      const fd = openSync(tmp, 'w', 0o600)
      try {
        writeSync(fd, `${JSON.stringify({ version: 1, invitations: records })}\n`)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(tmp, path)
    },
  }
}
