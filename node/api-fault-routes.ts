/**
 * Fault hooks for the fault suite, served only when the node was started with
 * INSTAR_FAULT_HOOKS=1: cut this node off from chosen peers, and heal. `silent: true` keeps
 * the open connections and silences them (a cut link) instead of closing them.
 */
import type { FastifyInstance } from 'fastify'
import type { Mesh } from '../mesh/index.js'

export function registerFaultRoutes(fastify: FastifyInstance, mesh: Mesh): void {
  fastify.post(
    '/debug/partition',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['block'],
          properties: {
            block: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } },
            silent: { type: 'boolean' },
          },
        },
      },
    },
    async (request) => {
      const { block, silent } = request.body as { block: string[]; silent?: boolean }
      await mesh.partition(block, { silent: silent === true })
      return { blocked: block, silent: silent === true }
    },
  )
}
