// GET /health, /health/live, /health/ready and GET /models: is the server ready, and what are the models (their cards).
import type { AutoChoice, ModelName } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { MODEL_NAMES } from '../config.js';
import { HttpError } from '../errors.js';
import { runnerOf, type ModelSet } from '../models.js';

export interface InfoRouteOptions {
  readonly models: ModelSet;
  readonly backend: string;
  /** How BACKEND=auto chose, when it did. */
  readonly backendChoice?: AutoChoice;
  /** Whether the server has begun to close (readiness then answers 503). */
  readonly isClosing: () => boolean;
}

/** The liveness answer, written out once. */
const LIVE = JSON.stringify({ status: 'live' });

const modelStatus = {
  type: 'object',
  required: ['available'],
  properties: {
    available: { type: 'boolean' },
    version: { type: 'string' },
    loadMs: { type: 'number' },
    warmupMs: { type: 'number', description: 'Compiling (and on async placing) the kernels of every batch bucket at load, in the model\'s worker thread.' },
    reason: { type: 'string', description: 'Why the model is unavailable.' },
  },
} as const;

const card = {
  type: 'object',
  additionalProperties: true,
  description: 'The model card: config, params, FLOPs, training, weights sha256, validation and test metrics (accuracy, loss, confusion matrix).',
} as const;

/** Registers GET /health, /health/live, /health/ready, GET /models and GET /models/:name. */
export async function infoRoutes(fastify: FastifyInstance, options: InfoRouteOptions): Promise<void> {
  const { models, backend, backendChoice } = options;
  const startedAt = Date.now();

  fastify.get(
    '/health/live',
    { schema: { summary: 'Liveness: 200 while the process runs', tags: ['info'], response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['live'] } } } } } },
    // the answer is a constant string: no serializer runs, so a probe costs the loop next to nothing
    (_request, reply) => reply.type('application/json; charset=utf-8').send(LIVE),
  );

  fastify.get(
    '/health/ready',
    {
      schema: {
        summary: 'Readiness: 200 while the models answer, 503 while the server drains',
        tags: ['info'],
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ready'] } } },
          503: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['draining'] } } },
        },
      },
    },
    async (_request, reply) => {
      if (options.isClosing()) return reply.code(503).header('retry-after', '1').send({ status: 'draining' });
      return { status: 'ready' as const };
    },
  );

  fastify.get(
    '/health',
    {
      schema: {
        summary: 'Readiness: 200 once the models are loaded',
        description: '"status" is "ok" when both models answer, "degraded" when one is unavailable (the other still answers).',
        tags: ['info'],
        response: {
          200: {
            type: 'object',
            required: ['status', 'models', 'backend', 'uptimeS'],
            properties: {
              status: { type: 'string', enum: ['ok', 'degraded'] },
              models: { type: 'object', properties: { cnn: modelStatus, vit: modelStatus } },
              backend: { type: 'string', description: 'The gpu.js mode the models run in.' },
              backendTrials: {
                type: 'array',
                description: 'With BACKEND=auto: each mode tried at start-up on a probe matmul checked against the reference, and its median time.',
                items: {
                  type: 'object',
                  required: ['mode'],
                  properties: { mode: { type: 'string' }, ms: { type: 'number' }, gflops: { type: 'number' }, kernel: { type: 'string' }, error: { type: 'string' } },
                },
              },
              uptimeS: { type: 'number' },
            },
          },
        },
      },
    },
    async () => {
      const status: Record<string, { available: boolean; version?: string; loadMs?: number; warmupMs?: number; reason?: string }> = {};
      for (const name of MODEL_NAMES) {
        const model = runnerOf(models, name);
        const loadMs = models.loadMs[name];
        const warmupMs = models.warmupMs[name];
        status[name] =
          model === undefined
            ? { available: false, reason: models.unavailable[name] ?? 'not loaded' }
            : {
                available: true,
                version: model.card.version,
                ...(loadMs === undefined ? {} : { loadMs: Math.round(loadMs) }),
                ...(warmupMs === undefined ? {} : { warmupMs: Math.round(warmupMs) }),
              };
      }
      const degraded = MODEL_NAMES.some((name) => runnerOf(models, name) === undefined);
      return { status: degraded ? 'degraded' : 'ok', models: status, backend, ...(backendChoice && { backendTrials: backendChoice.trials }), uptimeS: (Date.now() - startedAt) / 1000 };
    },
  );

  fastify.get(
    '/models',
    {
      schema: {
        summary: 'The model cards of both models',
        tags: ['info'],
        response: {
          200: {
            type: 'object',
            required: ['models'],
            properties: {
              models: { type: 'object', properties: { cnn: { ...card, nullable: true }, vit: { ...card, nullable: true } } },
              unavailable: { type: 'object', additionalProperties: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => ({
      models: { cnn: runnerOf(models, 'cnn')?.card ?? null, vit: runnerOf(models, 'vit')?.card ?? null },
      unavailable: models.unavailable,
    }),
  );

  fastify.get<{ Params: { name: string } }>(
    '/models/:name',
    {
      schema: {
        summary: "One model's card",
        tags: ['info'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', description: 'cnn or vit' } } },
        response: { 200: card, 404: { $ref: 'Error#' } },
      },
    },
    async (request) => {
      const name = request.params.name;
      const model = name === 'cnn' || name === 'vit' ? runnerOf(models, name as ModelName) : undefined;
      if (model === undefined) {
        const reason = name === 'cnn' || name === 'vit' ? (models.unavailable[name] ?? 'not loaded') : 'the models are "cnn" and "vit"';
        throw new HttpError(404, 'MODEL_NOT_FOUND', `There is no model "${name}" here: ${reason}.`);
      }
      return model.card;
    },
  );
}
