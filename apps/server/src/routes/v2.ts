// The Open Inference Protocol v2 (KServe V2, Triton's HTTP API) beside our own API: server and
// model health and metadata, and POST /v2/models/{name}/infer. Errors are the protocol's
// {"error": "..."}; a full queue or a passed deadline is 503 with Retry-After.
import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { V2ErrorSchema, V2InferRequestSchema, V2InferResponseSchema, V2ModelMetadataSchema, type V2InferRequest, type V2InferResponse, type V2ModelMetadata } from '@digitlab/digit-csv/contract';
import type { ModelName } from '@digitlab/models';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { MODEL_NAMES, type ResolvedConfig } from '../config.js';
import { ClientGoneError, HttpError, OverloadError, sendRefusal } from '../errors.js';
import { clientGone, deadlineOf } from '../inference/request.js';
import { runnerOf, type ModelSet } from '../models.js';

export type V2RouteOptions = Pick<ResolvedConfig, 'maxImages' | 'requestTimeoutMs'> & {
  readonly models: ModelSet;
  readonly isClosing: () => boolean;
};

/** The one input every model takes. */
export const V2_INPUT = 'images';
const DATATYPES = ['FP32', 'UINT8'] as const;

type InferInput = V2InferRequest['inputs'][number];

const v2Error = V2ErrorSchema;
const modelParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'cnn or vit' } },
} as const;

/** Registers the /v2 routes, with the protocol's own error answers. */
export async function v2Routes(fastify: FastifyInstance, options: V2RouteOptions): Promise<void> {
  const { models } = options;
  fastify.setErrorHandler((error: unknown, request, reply: FastifyReply) => {
    if (error instanceof ClientGoneError) return reply.status(499).send();
    const validation = (error as Partial<FastifyError>).validation !== undefined;
    const status = error instanceof HttpError ? error.statusCode : validation ? 400 : ((error as Partial<FastifyError>).statusCode ?? 500);
    const code = error instanceof HttpError ? error.code : validation ? 'INVALID_BODY' : status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
    fastify.digitMetrics.error(code);
    if (error instanceof OverloadError) reply.header('retry-after', String(error.retryAfterS));
    if (status >= 500 && !(error instanceof OverloadError)) request.log.error({ err: error }, 'v2 request failed');
    const message = status >= 500 && !(error instanceof OverloadError) ? 'The server failed to answer this request; the failure is logged.' : (error as Error).message;
    return reply.status(status).send({ error: message });
  });

  const ready = (reply: FastifyReply, ok: boolean) => {
    if (ok) return reply.status(200).send();
    return reply.status(503).header('retry-after', '1').send();
  };
  const runner = (name: string) => {
    const found = MODEL_NAMES.includes(name as ModelName) ? runnerOf(models, name as ModelName) : undefined;
    if (found === undefined) {
      const why = MODEL_NAMES.includes(name as ModelName) ? (models.unavailable[name as ModelName] ?? 'not loaded') : 'the models are "cnn" and "vit"';
      throw new HttpError(404, 'MODEL_NOT_FOUND', `There is no model "${name}" here: ${why}.`);
    }
    return found;
  };

  fastify.get('/v2', { schema: { summary: 'Server metadata', tags: ['v2'], response: { 200: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } } } } } }, async () => ({
    name: 'digitlab',
    version: '0.1.0',
    extensions: [],
  }));
  fastify.get('/v2/health/live', { schema: { summary: 'Server liveness: 200 while the process runs', tags: ['v2'] } }, async (_request, reply) => ready(reply, true));
  fastify.get('/v2/health/ready', { schema: { summary: 'Server readiness: 200 while the models answer, 503 while draining', tags: ['v2'] } }, async (_request, reply) =>
    ready(reply, !options.isClosing()),
  );
  fastify.get<{ Params: { name: string } }>(
    '/v2/models/:name/ready',
    { schema: { summary: 'Model readiness', tags: ['v2'], params: { type: 'object', properties: { name: { type: 'string' } } }, response: { 404: v2Error } } },
    async (request, reply) => {
      runner(request.params.name);
      return ready(reply, !options.isClosing());
    },
  );

  fastify.get<{ Params: { name: string } }>(
    '/v2/models/:name',
    {
      schema: {
        summary: 'Model metadata: inputs, outputs, datatypes, shapes',
        tags: ['v2'],
        params: { type: 'object', properties: { name: { type: 'string' } } },
        response: { 200: V2ModelMetadataSchema, 404: v2Error },
      },
    },
    async (request): Promise<V2ModelMetadata> => {
      const model = runner(request.params.name);
      return {
        name: model.name,
        versions: [model.card.version],
        platform: 'digitlab_gpujs',
        inputs: [{ name: V2_INPUT, datatype: 'FP32', shape: [-1, PIXELS] }],
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
          { name: 'digit', datatype: 'INT64', shape: [-1] },
        ],
      };
    },
  );

  fastify.post<{ Params: { name: string }; Body: V2InferRequest }>(
    '/v2/models/:name/infer',
    {
      schema: {
        summary: 'Classify images: FP32 [N,784] or [N,1,28,28] in 0-1, or UINT8 in 0-255',
        description: `One input tensor ("${V2_INPUT}"); outputs "probabilities" (FP32 [N,10]) and "digit" (INT64 [N]), or those named in "outputs".`,
        tags: ['v2'],
        params: modelParams,
        body: V2InferRequestSchema,
        response: { 200: V2InferResponseSchema, 400: v2Error, 404: v2Error, 413: v2Error, 503: v2Error },
      },
      // Shed before reading the body, as /predict does.
      onRequest: async (request, reply) => {
        if (options.isClosing()) return;
        const { name } = request.params as { name: string };
        if (!MODEL_NAMES.includes(name as ModelName)) return;
        const refused = models.queues[name as ModelName]?.refusal(1, deadlineOf(request, reply, options.requestTimeoutMs));
        if (refused !== undefined) return sendRefusal(reply, refused, JSON.stringify({ error: refused.message }), fastify.digitMetrics.error);
      },
    },
    async (request, reply): Promise<V2InferResponse> => {
      if (options.isClosing()) throw new OverloadError('SHUTTING_DOWN', 'The server is shutting down; retry on another instance.');
      const model = runner(request.params.name);
      const input = request.body.inputs[0];
      const { images, count } = readTensor(input, options.maxImages);
      const wanted = new Set<string>((request.body.outputs ?? []).map((output) => output.name));
      const queue = models.queues[model.name]!;
      const answer = await queue.submit(images, count, { deadline: deadlineOf(request, reply, options.requestTimeoutMs), signal: clientGone(reply) });
      const digits: number[] = [];
      for (let i = 0; i < count; i++) {
        let best = 0;
        for (let d = 1; d < 10; d++) if (answer.probabilities[i * 10 + d] > answer.probabilities[i * 10 + best]) best = d;
        digits.push(best);
      }
      const outputs = [
        { name: 'probabilities', shape: [count, 10], datatype: 'FP32', data: Array.from(answer.probabilities) },
        { name: 'digit', shape: [count], datatype: 'INT64', data: digits },
      ].filter((output) => wanted.size === 0 || wanted.has(output.name));
      return {
        model_name: model.name,
        model_version: model.card.version,
        ...(request.body.id === undefined ? {} : { id: request.body.id }),
        outputs,
      };
    },
  );
}

/** An input tensor -> count x 784 intensities in [0, 1]; 400 naming the first thing wrong. */
function readTensor(input: InferInput, maxImages: number): { images: Float32Array; count: number } {
  if (!(DATATYPES as readonly string[]).includes(input.datatype)) {
    throw new HttpError(400, 'BAD_DATATYPE', `Input "${input.name}" has datatype ${input.datatype}; accepted: FP32 (0-1) or UINT8 (0-255).`);
  }
  const shape = input.shape;
  const perImage = shape.slice(1).reduce((a, b) => a * b, 1);
  const shapeOk = shape.length >= 2 && perImage === PIXELS && (shape.length === 2 || shape.slice(-2).every((side) => side === SIDE));
  if (!shapeOk) {
    throw new HttpError(400, 'BAD_SHAPE', `Input "${input.name}" has shape [${shape.join(',')}]; accepted: [N,784], [N,1,28,28] or [N,28,28].`);
  }
  const count = shape[0];
  if (count > maxImages) throw new HttpError(413, 'TOO_MANY_IMAGES', `Input "${input.name}" holds ${count} images; at most ${maxImages} are accepted per request (MAX_IMAGES).`);
  const values = input.data.flat(shape.length) as unknown[];
  if (values.length !== count * PIXELS) {
    throw new HttpError(400, 'BAD_SHAPE', `Input "${input.name}" has ${values.length} values; its shape [${shape.join(',')}] needs ${count * PIXELS}.`);
  }
  const uint8 = input.datatype === 'UINT8';
  const images = new Float32Array(count * PIXELS);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const ok = typeof value === 'number' && Number.isFinite(value) && value >= 0 && (uint8 ? Number.isInteger(value) && value <= 255 : value <= 1);
    if (!ok) {
      const range = uint8 ? 'an integer 0-255 (UINT8)' : 'a number 0-1 (FP32)';
      throw new HttpError(400, 'BAD_VALUE', `Input "${input.name}" value ${i} (image ${Math.floor(i / PIXELS)}, pixel ${i % PIXELS}) is ${JSON.stringify(value)}; each must be ${range}.`);
    }
    images[i] = uint8 ? value / 255 : value;
  }
  return { images, count };
}
