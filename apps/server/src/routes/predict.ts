// POST /predict: a CSV (raw text/csv or a multipart upload, read as a stream, any number of rows) or
// JSON pixel arrays in; both models' answers out, as one JSON document or, with
// `Accept: application/x-ndjson`, one JSON line per image as the batches finish.
import { PassThrough, Readable } from 'node:stream';
import { digitsFromPixels, type Layout, type Scale } from '@digitlab/digit-csv';
import { parseDigitCsvStream } from '@digitlab/digit-csv/stream';
import type { ModelName } from '@digitlab/models';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResolvedConfig } from '../config.js';
import { ACCEPTED_TYPES, HttpError, OverloadError, errorBody, fileTooLarge, refusalBody, sendRefusal, type ErrorPluginOptions } from '../errors.js';
import { predictionsOf, refusalOf, runModels, taskOf, type ModelOutputs, type Prediction } from '../inference/predict.js';
import { clientGone, deadlineOf } from '../inference/request.js';
import type { ModelSet } from '../models.js';
import { csvBodySchema, multipartBodySchema, pixelsBodySchema } from '../schemas.js';

export type PredictRouteOptions = Pick<
  ResolvedConfig,
  'maxImages' | 'bodyLimit' | 'fileBodyLimit' | 'fileMaxRows' | 'fileTimeoutMs' | 'fileBatch' | 'requestTimeoutMs'
> & {
  readonly models: ModelSet;
  /** True once the server is draining: new requests get 503. */
  readonly isClosing: () => boolean;
};

/** Most images one request may ask to explain: each takes a backward pass (CNN) or an attention read-out (ViT) of its own. */
export const EXPLAIN_MAX_IMAGES = 32;

/** The CSV media types read as a stream (text/plain too: curl users send it). */
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];
export const NDJSON = 'application/x-ndjson';

declare module 'fastify' {
  interface FastifyRequest {
    /** The raw body of a CSV request, read by the handler as a stream. */
    csvStream?: Readable;
  }
}

/** Running totals of a request's serving costs (summed over a file's batches). */
class Costs {
  parseMs = 0;
  waitMs = 0;
  readonly inferenceMs: Record<ModelName, number | null> = { cnn: null, vit: null };

  add(outputs: ModelOutputs): void {
    this.waitMs += outputs.waitMs;
    for (const name of ['cnn', 'vit'] as const) {
      const ms = outputs.inferenceMs[name];
      if (ms !== null) this.inferenceMs[name] = (this.inferenceMs[name] ?? 0) + ms;
    }
  }
}

/** Where a request's predictions go: one JSON answer, or NDJSON lines written as they come. */
interface Sink {
  /** Takes the predictions of one batch (awaits the client when it reads slower). */
  write(predictions: Prediction[], input: { layout: Layout; scale: Scale }): Promise<void>;
}

/** Registers POST /predict and the streaming CSV content-type parser. */
export async function predictRoutes(fastify: FastifyInstance, options: PredictRouteOptions): Promise<void> {
  const { models } = options;
  fastify.removeContentTypeParser('text/plain');
  // The body stays a stream for the handler; '' keeps the (documenting) string schema satisfied.
  fastify.addContentTypeParser(CSV_TYPES, (request, payload, done) => {
    request.csvStream = payload as unknown as Readable;
    done(null, '');
  });
  const errorOptions: ErrorPluginOptions = options;

  const versions = (): { cnn: string | null; vit: string | null } => ({
    cnn: models.queues.cnn?.runner.card.version ?? null,
    vit: models.queues.vit?.runner.card.version ?? null,
  });

  const answer = (reply: FastifyReply, predictions: Prediction[], input: { layout: Layout; scale: Scale }, costs: Costs) => {
    const timings = {
      parseMs: round(costs.parseMs),
      queueMs: round(costs.waitMs),
      cnnMs: roundOrNull(costs.inferenceMs.cnn),
      vitMs: roundOrNull(costs.inferenceMs.vit),
      totalMs: round(reply.elapsedTime),
    };
    reply.header('server-timing', serverTiming(timings));
    const hasUnavailable = Object.keys(models.unavailable).length > 0;
    return {
      predictions,
      count: predictions.length,
      input,
      timings,
      models: versions(),
      ...(hasUnavailable ? { unavailable: models.unavailable } : {}),
    };
  };

  /**
   * Reads a CSV stream batch by batch into the sink, in input order; the first batch is admitted
   * like any request, the rest follow it. While one batch is with the models the next is read and
   * queued, so the models keep working on the file, and each batch queues behind the requests that
   * came before it, so single images are not held up behind a whole file.
   */
  const predictCsv = async (source: Readable, sink: Sink, costs: Costs, signal: AbortSignal, explain: boolean): Promise<number> => {
    const deadline = performance.now() + options.fileTimeoutMs;
    let count = 0;
    let admitted = false;
    /** The newest batch's predictions, written once the batch before it is written. */
    let written: Promise<void> | undefined;
    let parseStarted = performance.now();
    try {
      for await (const batch of parseDigitCsvStream(source, { maxRows: options.fileMaxRows, maxBytes: options.fileBodyLimit, batchSize: options.fileBatch })) {
        costs.parseMs += performance.now() - parseStarted;
        if (explain) refuseTooManyToExplain(count + batch.count, true);
        const outputs = runModels(models, batch.images, batch.count, { deadline, signal, admitted, explain });
        const before = written;
        // failures are taken in input order below; these only keep one from counting as unhandled meanwhile
        outputs.catch(() => undefined);
        written = (async () => {
          await before;
          const done = await outputs;
          costs.add(done);
          await sink.write(predictionsOf(done, batch.labels, batch.start), { layout: batch.layout, scale: batch.scale });
        })();
        written.catch(() => undefined);
        // at most two batches in flight; the first one decides admission before any other is queued
        if (!admitted) await written;
        else if (before !== undefined) await before;
        admitted = true;
        count += batch.count;
        parseStarted = performance.now();
      }
    } finally {
      // what was read before a bad row or a failure is written first (NDJSON sends it)
      if (written !== undefined) await written;
    }
    return count;
  };

  /** The upload's field "file" as a stream (a file part, or a plain field's text); other parts are drained. */
  const predictUpload = async (request: FastifyRequest, sink: Sink, costs: Costs, signal: AbortSignal, explain: boolean): Promise<void> => {
    let found = false;
    const seen: string[] = [];
    try {
      for await (const part of request.parts()) {
        seen.push(part.fieldname);
        const isFile = part.fieldname === 'file' && !found;
        if (part.type === 'file') {
          if (isFile) {
            found = true;
            await predictCsv(part.file, sink, costs, signal, explain);
          } else part.file.resume();
        } else if (isFile) {
          found = true;
          if (part.valueTruncated) throw new HttpError(413, 'BODY_TOO_LARGE', 'The field "file" is larger than the body limit.');
          await predictCsv(Readable.from([String(part.value)]), sink, costs, signal, explain);
        }
      }
    } catch (error) {
      const status = (error as { statusCode?: unknown }).statusCode;
      if (error instanceof HttpError || typeof status === 'number' || isDigitError(error)) throw error;
      throw new HttpError(400, 'BAD_MULTIPART', `The multipart body could not be read (${(error as Error).message}). ${ACCEPTED_TYPES}`);
    }
    if (!found) {
      const names = seen.length === 0 ? 'no fields' : `the fields ${seen.map((name) => `"${name}"`).join(', ')}`;
      throw new HttpError(400, 'MISSING_FILE', `The multipart upload has no field named "file" (found ${names}); put the CSV in "file".`);
    }
  };

  fastify.post(
    '/predict',
    {
      // Shed before reading the body: a server already past its queue wait answers 503 without parsing.
      onRequest: async (request, reply) => {
        if (options.isClosing()) return;
        // a bad explain value is the handler's 400; here it only picks the queues to ask
        const refused = refusalOf(models, 1, deadlineOf(request, reply, options.requestTimeoutMs), taskOf(wantsExplain(request)));
        if (refused !== undefined) return sendRefusal(reply, refused, refusalBody(refused), fastify.digitMetrics.error);
      },
      // A multipart body is read in the handler, not by a parser: give the schema an (empty) object to check.
      preValidation: async (request) => {
        if (request.body === undefined && request.isMultipart()) request.body = {};
      },
      schema: {
        summary: 'Classify 28x28 digits with both models',
        description:
          'Send one image, a batch or a whole file as a CSV (raw body or multipart upload; read as a stream, any number of rows up to FILE_MAX_ROWS) ' +
          'or as JSON pixel arrays (up to MAX_IMAGES). Each image gets both models\' digit and ten probabilities, in input order. ' +
          'With `Accept: application/x-ndjson` the answer is one JSON line per image, sent as the batches finish (an error after the first ' +
          'line is sent as a last line {"error", "message", "statusCode"}). Errors: 400 (bad input, naming row, column and value), ' +
          '413 (too large), 415 (unsupported content type), 503 with Retry-After (queue full, deadline passed, shutting down). ' +
          `With \`?explain=1\` (at most ${EXPLAIN_MAX_IMAGES} images) each entry also carries \`explanation\`: per model a 28x28 map (784 weights in [0, 1], ` +
          "row-major like the pixels) of why it answered: the CNN's saliency, the ViT's class-token attention. explain=0 or none leaves them out; " +
          'any other value is a 400 BAD_EXPLAIN.',
        tags: ['predict'],
        body: {
          content: {
            'text/csv': { schema: csvBodySchema },
            'application/json': { schema: pixelsBodySchema },
            'multipart/form-data': { schema: multipartBodySchema },
          },
        },
        response: {
          200: {
            description: 'The predictions (application/json), or one Prediction per line (application/x-ndjson).',
            content: { 'application/json': { schema: { $ref: 'PredictResponse#' } }, [NDJSON]: { schema: { $ref: 'Prediction#' } } },
          },
          400: { $ref: 'Error#' },
          413: { $ref: 'Error#' },
          415: { $ref: 'Error#' },
          503: { $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      if (options.isClosing()) throw new OverloadError('SHUTTING_DOWN', 'The server is shutting down; retry on another instance.');
      const explain = explainOf(request);
      const signal = clientGone(reply);
      const costs = new Costs();
      const csv = request.csvStream;
      if (!request.isMultipart() && csv === undefined) {
        const body: unknown = request.body;
        if (typeof body !== 'object' || body === null || !('pixels' in body)) throw new HttpError(400, 'EMPTY_INPUT', `The request has no body. ${ACCEPTED_TYPES}`);
        if (explain && Array.isArray(body.pixels)) refuseTooManyToExplain(body.pixels.length);
        const started = performance.now();
        const input = digitsFromPixels(body.pixels, { maxImages: options.maxImages });
        costs.parseMs = performance.now() - started;
        const outputs = await runModels(models, input.images, input.count, { deadline: deadlineOf(request, reply, options.requestTimeoutMs), signal, explain });
        costs.add(outputs);
        const predictions = predictionsOf(outputs, input.labels);
        if (wantsNdjson(request)) return reply.type(NDJSON).send(predictions.map((p) => `${JSON.stringify(p)}\n`).join(''));
        return reply.type('application/json; charset=utf-8').serializer(serializePredict).send(answer(reply, predictions, input, costs));
      }

      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > options.fileBodyLimit) {
        const { error, message, statusCode } = fileTooLarge(options.fileBodyLimit);
        throw new HttpError(statusCode, error, message);
      }
      const run = (sink: Sink): Promise<unknown> =>
        csv === undefined ? predictUpload(request, sink, costs, signal, explain) : predictCsv(csv, sink, costs, signal, explain);

      if (!wantsNdjson(request)) {
        const predictions: Prediction[] = [];
        let input: { layout: Layout; scale: Scale } | undefined;
        await run({
          write: async (batch, seen) => {
            for (const p of batch) predictions.push(p);
            input = seen;
          },
        });
        if (input === undefined) throw new HttpError(400, 'EMPTY_INPUT', `The request has no images. ${ACCEPTED_TYPES}`);
        return reply.type('application/json; charset=utf-8').serializer(serializePredict).send(answer(reply, predictions, input, costs));
      }

      // NDJSON: the first batch decides the status (an early error is a normal JSON error answer);
      // after that, lines go out as each batch finishes.
      let stream: PassThrough | undefined;
      const sink: Sink = {
        write: async (batch) => {
          if (stream === undefined) {
            stream = new PassThrough();
            void reply.type(NDJSON).header('cache-control', 'no-store').send(stream);
          }
          const text = batch.map((p) => `${JSON.stringify(p)}\n`).join('');
          if (!stream.write(text)) await new Promise((resolve) => stream!.once('drain', resolve));
        },
      };
      try {
        await run(sink);
      } catch (error) {
        if (stream === undefined) throw error;
        const body = errorBody(error, errorOptions);
        request.log.info({ error: body.error }, `NDJSON answer ended by an error: ${body.message}`);
        stream.end(`${JSON.stringify(body)}\n`);
        return reply;
      }
      if (stream === undefined) throw new HttpError(400, 'EMPTY_INPUT', `The request has no images. ${ACCEPTED_TYPES}`);
      stream.end();
      return reply;
    },
  );
}

/** The JSON serializer of a /predict answer (probability arrays dominate: plain JSON.stringify is as fast as a schema here). */
function serializePredict(payload: unknown): string {
  return JSON.stringify(payload);
}

/** `?explain=`: 1 or true asks for the maps; 0, false or none does not; anything else is a 400. */
function explainOf(request: FastifyRequest): boolean {
  const raw = explainParameter(request);
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (wantsExplain(request)) return true;
  const sent = Array.isArray(raw) ? `given ${raw.length} times` : `"${String(raw).slice(0, 40)}"`;
  throw new HttpError(400, 'BAD_EXPLAIN', `The query parameter explain is ${sent}; send explain=1 for each model's map of each image, or explain=0 (or none) for the answers alone.`);
}

/** Whether `?explain=` asks for the maps (1 or true); never throws (explainOf refuses other values). */
function wantsExplain(request: FastifyRequest): boolean {
  const raw = explainParameter(request);
  return raw === '1' || raw === 'true';
}

function explainParameter(request: FastifyRequest): unknown {
  return (request.query as Record<string, unknown> | undefined)?.explain;
}

/** 413 past EXPLAIN_MAX_IMAGES; `more` when a stream may hold more images than counted so far. */
function refuseTooManyToExplain(count: number, more = false): void {
  if (count <= EXPLAIN_MAX_IMAGES) return;
  throw new HttpError(
    413,
    'TOO_MANY_TO_EXPLAIN',
    `With explain=1 a request holds at most ${EXPLAIN_MAX_IMAGES} images (this one has ${more ? 'at least ' : ''}${count}); send fewer, or leave explain out for the answers alone.`,
  );
}

function wantsNdjson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes(NDJSON);
}

function isDigitError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'DigitCsvError';
}

function serverTiming(timings: { parseMs: number; queueMs: number; cnnMs: number | null; vitMs: number | null }): string {
  const entries = [`parse;dur=${timings.parseMs}`];
  if (timings.cnnMs !== null) entries.push(`cnn;dur=${timings.cnnMs}`);
  if (timings.vitMs !== null) entries.push(`vit;dur=${timings.vitMs}`);
  entries.push(`queue;dur=${timings.queueMs}`);
  return entries.join(', ');
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function roundOrNull(ms: number | null): number | null {
  return ms === null ? null : round(ms);
}
