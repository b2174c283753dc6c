// GET /metrics: the Prometheus text exposition of the server's registry.
import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../metrics.js';

/** Registers GET /metrics. */
export async function metricsRoutes(fastify: FastifyInstance, options: { readonly metrics: ServerMetrics }): Promise<void> {
  const { registry } = options.metrics;
  fastify.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: request durations, queue depth and wait, batch sizes, inference time, images, errors',
        tags: ['info'],
        produces: [registry.contentType],
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
}
