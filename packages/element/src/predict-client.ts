/**
 * Talks to the server's `POST /predict` and turns every way that can fail into a sentence a
 * person understands. No DOM beyond `fetch`.
 */
import { PIXELS } from '@digitlab/digit-csv';
import { checkExplanations, type Explanations } from './explanation-overlay.ts';
// types only: the server's wire contract, with no code of it in the bundle
import type { ModelAnswer as WireModelAnswer, Prediction as WirePrediction, PredictResponse as WirePredictResponse } from '@digitlab/digit-csv/contract';

/** One model's answer for one image: ten class probabilities, digit 0 first, summing to 1. */
export type ModelAnswer = WireModelAnswer;

/** Both models' answers for one image, in input order; a model is null when the server has none loaded. */
export type ImagePrediction = WirePrediction;

/**
 * The body of a successful `POST /predict` (see the server's OpenAPI docs at /docs) as this client
 * uses it: a merged answer of several requests keeps the predictions and the summed `totalMs`.
 */
export type PredictResponse = Pick<WirePredictResponse, 'predictions' | 'count'> &
  Partial<Pick<WirePredictResponse, 'input' | 'models' | 'unavailable'>> & { timings?: Partial<WirePredictResponse['timings']> };

/** A request that did not give predictions; `message` is meant for people, as is. */
export class PredictError extends Error {
  /** HTTP status, or 0 when the server could not be reached or its answer not read. */
  readonly status: number;
  /** The server's machine-readable `error` field, when it sent one. */
  readonly code?: string;

  constructor(message: string, status: number, code?: string) {
    super(message);
    this.name = 'PredictError';
    this.status = status;
    if (code !== undefined) this.code = code;
  }
}

/** What to send; `explain` also asks for each model's map of each image (`?explain=1`). */
export type PredictBody = (
  | { kind: 'csv'; text: string }
  | { kind: 'pixels'; images: Float32Array; count: number }
) & { explain?: boolean };

/** Sends images to `endpoint` and returns the checked response; throws `PredictError`. */
export async function requestPrediction(
  endpoint: string,
  body: PredictBody,
  signal?: AbortSignal,
): Promise<PredictResponse> {
  const init: RequestInit = { method: 'POST', headers: { accept: 'application/json' } };
  if (signal) init.signal = signal;
  if (body.kind === 'csv') {
    init.headers = { ...init.headers, 'content-type': 'text/csv' };
    init.body = body.text;
  } else {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = pixelsJson(body.images, body.count);
  }

  let response: Response;
  try {
    response = await fetch(body.explain === true ? withExplain(endpoint) : endpoint, init);
  } catch (cause) {
    if (isAbort(cause)) throw cause;
    throw new PredictError(
      `Could not reach the classifier at ${endpoint}. Check that the server is running and reachable, then try again.`,
      0,
    );
  }

  let payload: unknown;
  try {
    payload = await response.json();
  } catch (cause) {
    if (isAbort(cause)) throw cause;
    payload = undefined;
  }

  if (!response.ok) throw errorFromResponse(response.status, payload);
  const checked = checkResponse(payload, body.kind === 'pixels' ? body.count : undefined);
  if (!checked) {
    throw new PredictError('The classifier sent an answer this page does not understand. Is the endpoint right?', response.status);
  }
  return checked;
}

/**
 * `{"pixels": [[784 values], ...]}` in 0-1, each value written with the fewest digits that read
 * back as the same float32, so the server sees exactly the intensities shown here.
 */
export function pixelsJson(images: Float32Array, count: number): string {
  const rows: string[] = [];
  const written = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    const row = images.subarray(i * PIXELS, (i + 1) * PIXELS);
    rows.push(`[${Array.from(row, (v) => float32Text(v, written)).join(',')}]`);
  }
  return `{"pixels":[${rows.join(',')}]}`;
}

function float32Text(v: number, written: Map<number, string>): string {
  if (v === 0) return '0';
  let text = written.get(v);
  if (text === undefined) {
    // float32 needs at most 9 significant digits to round-trip.
    for (let digits = 1; digits <= 9; digits++) {
      text = String(Number(v.toPrecision(digits)));
      if (Math.fround(Number(text)) === v) break;
    }
    written.set(v, text as string);
  }
  return text as string;
}

/** Progress of a request sent in batches: images answered so far, of `total`. */
export type BatchProgress = (answered: readonly ImagePrediction[], total: number) => void;

/**
 * Sends `count` images as JSON in requests of at most `batchSize` images, one after the other,
 * and returns every answer in input order as one response (indices and labels of the whole
 * input; `timings.totalMs` summed). Throws the first `PredictError`.
 */
export async function requestInBatches(
  endpoint: string,
  images: Float32Array,
  count: number,
  labels: readonly (number | null)[],
  batchSize: number,
  signal?: AbortSignal,
  onProgress?: BatchProgress,
): Promise<PredictResponse> {
  const predictions: ImagePrediction[] = [];
  let totalMs = 0;
  let models: PredictResponse['models'];
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const body: PredictBody = { kind: 'pixels', images: images.subarray(start * PIXELS, (start + n) * PIXELS), count: n };
    const response = await requestPrediction(endpoint, body, signal);
    response.predictions.forEach((p, i) => predictions.push({ ...p, index: start + i, label: labels[start + i] ?? null }));
    totalMs += response.timings?.totalMs ?? 0;
    models = response.models;
    onProgress?.(predictions, count);
  }
  return { predictions, count, timings: { totalMs }, ...(models === undefined ? {} : { models }) };
}

/** Words for a refused request: the server's own message when it sent one. */
export function errorFromResponse(status: number, payload: unknown): PredictError {
  const message = isRecord(payload) && typeof payload.message === 'string' ? payload.message : undefined;
  const code = isRecord(payload) && typeof payload.error === 'string' ? payload.error : undefined;
  if (status === 413) {
    return new PredictError(message ?? 'That is more than the classifier accepts in one request. Try fewer images or a smaller file.', status, code);
  }
  if (status >= 500) {
    return new PredictError(`The classifier had a problem on its side (HTTP ${status}). Please try again in a moment.`, status, code);
  }
  if (status === 404) {
    return new PredictError(message ?? `There is no classifier at this address (HTTP 404). Check the endpoint attribute.`, status, code);
  }
  return new PredictError(message ?? `The classifier refused the request (HTTP ${status}).`, status, code);
}

/** The response if it has the promised shape (and `expected` predictions, when given), else null. */
export function checkResponse(payload: unknown, expected?: number): PredictResponse | null {
  if (!isRecord(payload) || !Array.isArray(payload.predictions)) return null;
  const predictions: ImagePrediction[] = [];
  for (const [i, p] of payload.predictions.entries()) {
    if (!isRecord(p)) return null;
    // A model may be absent (null); anything else must be a proper answer.
    const cnn = p.cnn === null ? null : checkAnswer(p.cnn);
    const vit = p.vit === null ? null : checkAnswer(p.vit);
    if ((p.cnn !== null && !cnn) || (p.vit !== null && !vit) || (!cnn && !vit)) return null;
    const label = typeof p.label === 'number' ? p.label : null;
    // maps that are not the promised shape are dropped; the answers stand without them
    const { explanation: maps, ...rest } = p;
    const explanation = checkExplanations(maps);
    const lowConfidence = Array.isArray(p.lowConfidence) ? p.lowConfidence.filter((name): name is 'cnn' | 'vit' => name === 'cnn' || name === 'vit') : [];
    predictions.push({
      ...rest,
      ...(explanation ? { explanation } : {}),
      index: typeof p.index === 'number' ? p.index : i,
      cnn,
      vit,
      agree: cnn && vit ? cnn.digit === vit.digit : null,
      label,
      uncertain: p.uncertain === true,
      lowConfidence,
    });
  }
  if (expected !== undefined && predictions.length !== expected) return null;
  return { ...payload, predictions, count: typeof payload.count === 'number' ? payload.count : predictions.length };
}

function checkAnswer(value: unknown): ModelAnswer | null {
  if (!isRecord(value)) return null;
  const { digit, probabilities } = value;
  if (typeof digit !== 'number' || !Number.isInteger(digit) || digit < 0 || digit > 9) return null;
  if (!Array.isArray(probabilities) || probabilities.length !== 10) return null;
  if (!probabilities.every((p): p is number => typeof p === 'number' && Number.isFinite(p))) return null;
  return { ...value, digit, probabilities };
}

/** `endpoint` with `explain=1` added to its query (it may have one already). */
function withExplain(endpoint: string): string {
  const [path, hash = ''] = endpoint.split('#', 2);
  return `${path}${path.includes('?') ? '&' : '?'}explain=1${hash ? `#${hash}` : ''}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
