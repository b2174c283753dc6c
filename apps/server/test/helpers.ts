// Shared by the server tests: the real server on the real weights, MNIST test digits as CSV, error checks.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatDigitCsv, PIXELS } from '@digitlab/digit-csv';
import { loadMnist } from '@digitlab/models';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { ErrorBody } from '../src/errors.js';
import { buildServer, REPO_ROOT, type ServerConfig } from '../src/index.js';

/** The shipped weights the tests run against (WEIGHTS_DIR, as for the server, picks another set). */
export const WEIGHTS_DIR = resolve(process.env.WEIGHTS_DIR ?? resolve(REPO_ROOT, 'weights'));

/** Whether weights/<name>.json is shipped (the ViT may come later than the CNN). */
export function shipped(name: 'cnn' | 'vit'): boolean {
  return existsSync(resolve(WEIGHTS_DIR, `${name}.json`));
}

/**
 * Builds the real server on the real weights (each model in its worker thread), with the backend it
 * ships with unless told; batch buckets compile on first use unless `warm: true`, to keep start-up
 * short, so the request deadline is long enough for a first use to compile on a busy machine.
 */
export function startServer(config: ServerConfig = {}): Promise<FastifyInstance> {
  return buildServer({ weightsDir: WEIGHTS_DIR, warm: false, requestTimeoutMs: 300_000, ...config });
}

export interface Digits {
  readonly images: Float32Array;
  readonly labels: number[];
  readonly count: number;
}

/** The first `count` (from `start`) MNIST test digits, pixels in [0, 1]. */
export function testDigits(count: number, start = 0): Digits {
  const mnist = loadMnist('test');
  const images = mnist.images.slice(start * PIXELS, (start + count) * PIXELS);
  return { images, labels: Array.from(mnist.labels.subarray(start, start + count)), count };
}

/** Those digits as CSV rows of 0-255 integers (optionally labelled, with a header). */
export function digitsCsv(digits: Digits, options: { labelled?: boolean; header?: boolean } = {}): string {
  return formatDigitCsv(digits.images, digits.count, options.labelled === true ? digits.labels : undefined, {
    header: options.header ?? false,
  });
}

/** The 0-255 integer values of one digit (as a CSV row holds them). */
export function bytesOf(digits: Digits, index: number): number[] {
  return Array.from(digits.images.subarray(index * PIXELS, (index + 1) * PIXELS), (v) => Math.round(v * 255));
}

/** One answer's shape, as the server sends it. */
export interface Answer {
  digit: number;
  probabilities: number[];
}

export interface PredictBody {
  predictions: Array<{ index: number; cnn: Answer | null; vit: Answer | null; agree: boolean | null; uncertain: boolean; lowConfidence: string[]; label: number | null }>;
  count: number;
  input: { layout: string; scale: string };
  timings: { parseMs: number; cnnMs: number | null; vitMs: number | null; totalMs: number };
  models: { cnn: string | null; vit: string | null };
  unavailable?: Record<string, string>;
}

export type { ErrorBody };

/** POSTs a body to /predict with a content type through inject. */
export function post(app: FastifyInstance, contentType: string | undefined, payload: string | Buffer): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/predict',
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    payload,
  });
}

/** Checks a 200 answer and returns its body. */
export function expectPredictions(response: LightMyRequestResponse, count: number): PredictBody {
  expect(response.statusCode, response.body.slice(0, 500)).toBe(200);
  const body = response.json<PredictBody>();
  expect(body.count).toBe(count);
  expect(body.predictions).toHaveLength(count);
  body.predictions.forEach((prediction, index) => {
    expect(prediction.index).toBe(index);
    for (const answer of [prediction.cnn, prediction.vit]) {
      if (answer === null) continue;
      expect(answer.probabilities).toHaveLength(10);
      const sum = answer.probabilities.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 4);
      expect(answer.probabilities[answer.digit]).toBe(Math.max(...answer.probabilities));
    }
  });
  return body;
}

/** Checks an error answer: status, code, JSON shape, and that the message contains each fragment. */
export function expectError(
  response: { statusCode: number; body: string; headers: Record<string, unknown> },
  status: number,
  code: string,
  ...fragments: string[]
): ErrorBody {
  expect(response.statusCode, response.body.slice(0, 500)).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as ErrorBody;
  expect(body.error).toBe(code);
  expect(body.statusCode).toBe(status);
  for (const fragment of fragments) expect(body.message).toContain(fragment);
  return body;
}

/** Sum of a Prometheus metric's samples at `base`/metrics whose labels include every one of `labels`. */
export async function metricAt(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`))) total += Number(match[3]);
  }
  return total;
}
