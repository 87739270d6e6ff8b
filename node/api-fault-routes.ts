/**
 * Fault hooks for the fault suite, served only when the node was started with
 * INSTAR_FAULT_HOOKS=1: cut this node off from chosen peers, and heal.
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
          properties: { block: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } } },
        },
      },
    },
    async (request) => {
      const { block } = request.body as { block: string[] }
      await mesh.partition(block)
      return { blocked: block }
    },
  )
}
