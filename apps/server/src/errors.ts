// Every failure becomes JSON { error, message, statusCode }: bad input is a 4xx naming what was wrong
// and what is accepted; only the server's own faults are a 500.
import { DigitCsvError } from '@digitlab/digit-csv';
import type { ErrorBody } from '@digitlab/digit-csv/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Content types POST /predict accepts, as said in 415 answers. */
export const ACCEPTED_TYPES =
  'Send text/csv (the CSV as the raw body), multipart/form-data (the CSV in the field "file") ' +
  'or application/json ({"pixels": [[784 numbers], ...]}).';

/** An error with an HTTP status and a machine-readable code, thrown by the routes. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Fewest seconds a client is told to wait (Retry-After): the header counts whole seconds. */
export const RETRY_AFTER_S = 1;

/** Retry-After for a backlog expected to take `backlogMs` to clear: whole seconds, at least RETRY_AFTER_S. */
export function retryAfterFor(backlogMs: number): number {
  return Math.max(RETRY_AFTER_S, Math.ceil(backlogMs / 1000));
}

/** A 503 that carries Retry-After. */
export class OverloadError extends HttpError {
  constructor(
    code: 'QUEUE_FULL' | 'DEADLINE_EXCEEDED' | 'SHUTTING_DOWN',
    message: string,
    /** Seconds to tell the client to wait before retrying. */
    readonly retryAfterS: number = RETRY_AFTER_S,
  ) {
    super(503, code, message);
  }

  /** The error of a refusal decided at the door (see Refusal). */
  static of(refused: Refusal): OverloadError {
    return new OverloadError(refused.code, refused.message, refused.retryAfterS);
  }
}

/** A 503 decided at the door, before the body is read: its code, message and Retry-After (seconds). */
export interface Refusal {
  readonly code: 'QUEUE_FULL' | 'DEADLINE_EXCEEDED';
  readonly message: string;
  readonly retryAfterS: number;
}

/**
 * Answers a refusal: 503 with Retry-After and `body` (the route's error JSON, already a string, so no
 * serializer runs), counted under its code. A shedding server sends these at the rate load arrives,
 * so the path builds no Error and writes no log line per answer.
 */
export function sendRefusal(reply: FastifyReply, refused: Refusal, body: string, onError?: (code: string) => void): FastifyReply {
  onError?.(refused.code);
  return reply.code(503).header('retry-after', String(refused.retryAfterS)).type('application/json; charset=utf-8').send(body);
}

/** A refusal as our error JSON ({ error, message, statusCode }). */
export function refusalBody(refused: Refusal): string {
  return JSON.stringify({ error: refused.code, message: refused.message, statusCode: 503 } satisfies ErrorBody);
}

/** A client that went away before its answer: nothing is sent. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

export type { ErrorBody };

/** The 413 of a CSV file over FILE_BODY_LIMIT (declared or counted while streaming). */
export function fileTooLarge(limit: number): ErrorBody & { error: 'BODY_TOO_LARGE' } {
  return { error: 'BODY_TOO_LARGE', message: `The file is larger than the ${limit}-byte limit (FILE_BODY_LIMIT); split it into smaller files.`, statusCode: 413 };
}

export interface ErrorPluginOptions {
  readonly bodyLimit: number;
  readonly maxImages: number;
  readonly fileBodyLimit: number;
}

/** Where the error plugin reports each error answer by its code (the metrics). */
export interface ErrorPluginHooks {
  readonly onError?: (code: string) => void;
}

/** Maps any thrown error to its status and JSON body. */
export function errorBody(error: unknown, options: ErrorPluginOptions, contentType?: string): ErrorBody {
  if (error instanceof DigitCsvError && error.code === 'TOO_MANY_BYTES') return fileTooLarge(options.fileBodyLimit);
  if (error instanceof DigitCsvError) {
    const body: ErrorBody = { error: error.code, message: error.message, statusCode: error.isLimit ? 413 : 400 };
    if (error.row !== undefined) body.row = error.row;
    if (error.column !== undefined) body.column = error.column;
    if (error.value !== undefined) body.value = error.value;
    return body;
  }
  if (error instanceof HttpError) return { error: error.code, message: error.message, statusCode: error.statusCode };
  const fastifyError = error as Partial<FastifyError> & { message?: string };
  const code = typeof fastifyError.code === 'string' ? fastifyError.code : '';
  const message = typeof fastifyError.message === 'string' ? fastifyError.message : String(error);
  const tooLarge =
    `The request is larger than the ${options.bodyLimit}-byte limit (BODY_LIMIT); ` +
    `send at most ${options.maxImages} images (MAX_IMAGES) and split bigger batches.`;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return { error: 'BODY_TOO_LARGE', message: tooLarge, statusCode: 413 };
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { error: 'TOO_MANY_PARTS', message: `The upload has too many parts; send one CSV in the field "file".`, statusCode: 413 };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const sent = contentType === undefined || contentType === '' ? 'The request has no Content-Type' : `Content-Type "${contentType}" is not accepted`;
      const hint = contentType?.startsWith('application/x-www-form-urlencoded') === true
        ? " (curl's --data-binary sends this by default: add -H 'Content-Type: text/csv')"
        : '';
      return { error: 'UNSUPPORTED_MEDIA_TYPE', message: `${sent}${hint}. ${ACCEPTED_TYPES}`, statusCode: 415 };
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { error: 'EMPTY_INPUT', message: `The JSON body is empty. ${ACCEPTED_TYPES}`, statusCode: 400 };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: 'INVALID_JSON', message: `The body is not valid JSON (${message}). ${ACCEPTED_TYPES}`, statusCode: 400 };
    default:
      break;
  }
  if (fastifyError.validation !== undefined) {
    return { error: 'INVALID_BODY', message: `${message}. ${ACCEPTED_TYPES}`, statusCode: 400 };
  }
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (error instanceof SyntaxError && status === 400) {
    return { error: 'INVALID_JSON', message: `The body is not valid JSON (${message}). ${ACCEPTED_TYPES}`, statusCode: 400 };
  }
  if (status >= 400 && status < 500) return { error: code === '' ? 'BAD_REQUEST' : code, message, statusCode: status };
  return { error: 'INTERNAL_ERROR', message: 'The server failed to answer this request; the failure is logged.', statusCode: 500 };
}

async function errorPlugin(fastify: FastifyInstance, options: ErrorPluginOptions & ErrorPluginHooks): Promise<void> {
  fastify.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ClientGoneError) {
      // Nobody is listening: count it, send nothing (499 is nginx's "client closed request").
      options.onError?.('CLIENT_GONE');
      return reply.status(499).send();
    }
    const body = errorBody(error, options, request.headers['content-type']);
    options.onError?.(body.error);
    if (body.statusCode >= 500 && !(error instanceof OverloadError)) request.log.error({ err: error }, 'request failed');
    else request.log.info({ error: body.error, statusCode: body.statusCode }, body.message);
    if (error instanceof OverloadError) reply.header('retry-after', String(error.retryAfterS));
    return reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
  });
  fastify.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const body: ErrorBody = {
      error: 'NOT_FOUND',
      message:
        `There is no ${request.method} ${request.url.split('?')[0]}. Routes: POST /predict, GET /health, GET /health/live, GET /health/ready, GET /metrics, GET /models, GET /v2/models/{name}, POST /v2/models/{name}/infer, ` +
        'GET /docs (OpenAPI), GET / (demo page), GET /element.js, GET /report.',
      statusCode: 404,
    };
    options.onError?.(body.error);
    return reply.status(404).send(body);
  });
}

/** Registers the JSON error and not-found handlers on the root instance. */
export default fp(errorPlugin, { fastify: '5.x', name: 'digitlab-errors' });
