// POST /predict: a CSV (raw text/csv or a multipart upload) or JSON pixel arrays in; both models' answers out.
import { digitsFromPixels, parseDigitCsv, type ParsedDigits } from '@digitlab/digit-csv';
import type { ModelName } from '@digitlab/models';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MODEL_NAMES } from '../config.js';
import { ACCEPTED_TYPES, HttpError } from '../errors.js';
import type { ModelSet } from '../models.js';
import { csvBodySchema, multipartBodySchema, pixelsBodySchema, predictResponseSchema } from '../schemas.js';

export interface PredictRouteOptions {
  readonly models: ModelSet;
  readonly maxImages: number;
  readonly bodyLimit: number;
}

interface Answer {
  digit: number;
  probabilities: number[];
}

interface Prediction {
  index: number;
  cnn: Answer | null;
  vit: Answer | null;
  agree: boolean | null;
  label: number | null;
}

/** The CSV media types read as text; text/plain comes with Fastify. */
const CSV_TYPES = ['text/csv', 'application/csv'];

/** Registers POST /predict and the text/csv content-type parser. */
export async function predictRoutes(fastify: FastifyInstance, options: PredictRouteOptions): Promise<void> {
  const { models, maxImages, bodyLimit } = options;
  fastify.addContentTypeParser(CSV_TYPES, { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));

  const readInput = async (request: FastifyRequest): Promise<ParsedDigits> => {
    if (request.isMultipart()) return parseDigitCsv(await readUpload(request), { maxImages, maxBytes: bodyLimit });
    const body: unknown = request.body;
    if (typeof body === 'string') return parseDigitCsv(body, { maxImages, maxBytes: bodyLimit });
    if (typeof body === 'object' && body !== null && 'pixels' in body) return digitsFromPixels(body.pixels, { maxImages });
    throw new HttpError(400, 'EMPTY_INPUT', `The request has no body. ${ACCEPTED_TYPES}`);
  };

  fastify.post(
    '/predict',
    {
      // A multipart body is read in the handler, not by a parser: give the schema an (empty) object to check.
      preValidation: async (request) => {
        if (request.body === undefined && request.isMultipart()) request.body = {};
      },
      schema: {
        summary: 'Classify 28x28 digits with both models',
        description:
          'Send one image or a batch as a CSV (raw body or multipart upload) or as JSON pixel arrays. ' +
          'Each image gets both models\' digit and ten probabilities, in input order. Errors: 400 (bad input, ' +
          'naming row, column and value), 413 (too large), 415 (unsupported content type).',
        tags: ['predict'],
        body: {
          content: {
            'text/csv': { schema: csvBodySchema },
            'application/json': { schema: pixelsBodySchema },
            'multipart/form-data': { schema: multipartBodySchema },
          },
        },
        response: {
          200: { $ref: 'PredictResponse#' },
          400: { $ref: 'Error#' },
          413: { $ref: 'Error#' },
          415: { $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const input = await readInput(request);
      const parseMs = performance.now() - started;

      const probabilities: Partial<Record<ModelName, Float32Array>> = {};
      const ms: Record<ModelName, number | null> = { cnn: null, vit: null };
      // One model after the other: running both at once was measured no faster (the engine's
      // compute is serial here) and would blur the per-model timings.
      for (const name of MODEL_NAMES) {
        const model = models.models[name];
        if (model === undefined) continue;
        const t0 = performance.now();
        probabilities[name] = await model.predict(input.images, input.count);
        ms[name] = performance.now() - t0;
      }

      const predictions: Prediction[] = [];
      for (let i = 0; i < input.count; i++) {
        const cnn = answerOf(probabilities.cnn, i);
        const vit = answerOf(probabilities.vit, i);
        const agree = cnn === null || vit === null ? null : cnn.digit === vit.digit;
        predictions.push({ index: i, cnn, vit, agree, label: input.labels[i] });
      }
      const totalMs = reply.elapsedTime;
      const timings = { parseMs: round(parseMs), cnnMs: roundOrNull(ms.cnn), vitMs: roundOrNull(ms.vit), totalMs: round(totalMs) };
      reply.header(
        'server-timing',
        [`parse;dur=${timings.parseMs}`, ms.cnn === null ? '' : `cnn;dur=${timings.cnnMs}`, ms.vit === null ? '' : `vit;dur=${timings.vitMs}`]
          .filter((entry) => entry !== '')
          .join(', '),
      );
      const hasUnavailable = Object.keys(models.unavailable).length > 0;
      return {
        predictions,
        count: input.count,
        input: { layout: input.layout, scale: input.scale },
        timings,
        models: { cnn: models.models.cnn?.card.version ?? null, vit: models.models.vit?.card.version ?? null },
        ...(hasUnavailable ? { unavailable: models.unavailable } : {}),
      };
    },
  );
}

/** Reads the multipart field "file" (a file part or a plain field) as text; other parts are drained. */
async function readUpload(request: FastifyRequest): Promise<string> {
  let text: string | undefined;
  const seen: string[] = [];
  try {
    for await (const part of request.parts()) {
      seen.push(part.fieldname);
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        if (part.fieldname === 'file' && text === undefined) text = new TextDecoder().decode(bytes);
      } else if (part.fieldname === 'file' && text === undefined) {
        if (part.valueTruncated) throw new HttpError(413, 'BODY_TOO_LARGE', 'The field "file" is larger than the body limit.');
        text = typeof part.value === 'string' ? part.value : String(part.value);
      }
    }
  } catch (error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    if (error instanceof HttpError || typeof status === 'number') throw error;
    throw new HttpError(400, 'BAD_MULTIPART', `The multipart body could not be read (${(error as Error).message}). ${ACCEPTED_TYPES}`);
  }
  if (text === undefined) {
    const found = seen.length === 0 ? 'no fields' : `the fields ${seen.map((name) => `"${name}"`).join(', ')}`;
    throw new HttpError(400, 'MISSING_FILE', `The multipart upload has no field named "file" (found ${found}); put the CSV in "file".`);
  }
  return text;
}

function answerOf(probabilities: Float32Array | undefined, index: number): Answer | null {
  if (probabilities === undefined) return null;
  const row = Array.from(probabilities.subarray(index * 10, index * 10 + 10));
  let digit = 0;
  for (let d = 1; d < 10; d++) if (row[d] > row[digit]) digit = d;
  return { digit, probabilities: row };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function roundOrNull(ms: number | null): number | null {
  return ms === null ? null : round(ms);
}
