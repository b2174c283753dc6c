// Real overload against the real server on a real socket (loopback, a bounded burst): requests
// beyond what the models can take within MAX_QUEUE_WAIT_MS are refused at once with 503 QUEUE_FULL
// and a Retry-After that covers the backlog, on /predict and /v2 alike; the admitted ones are
// answered, nothing times out or fails otherwise, the probes answer, and the server recovers.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, metricAt, startServer, testDigits } from './helpers.js';

const MAX_QUEUE_WAIT_MS = 50;
/** Images per request: 200 requests of 16 are seconds of work for the models, sent within a fraction of that. */
const IMAGES = 16;

let app: FastifyInstance;
let base: string;
const digits = testDigits(IMAGES);
const pixels = Array.from({ length: IMAGES }, (_, i) => bytesOf(digits, i));
const predictBody = JSON.stringify({ pixels });
const inferBody = JSON.stringify({ inputs: [{ name: 'images', shape: [IMAGES, 784], datatype: 'UINT8', data: pixels.flat() }] });

beforeAll(async () => {
  app = await startServer({ maxQueueWaitMs: MAX_QUEUE_WAIT_MS, queueLimit: 100_000, maxBatch: 64, maxBatchWaitMs: 2 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // the first prediction compiles the models' kernels; the next ones teach the queues their time per image
  for (let i = 0; i < 4; i++) expect((await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: predictBody })).status).toBe(200);
}, 600_000);
afterAll(async () => {
  await app.close();
});

const metric = (name: string, labels: Record<string, string> = {}): Promise<number> => metricAt(base, name, labels);

interface Outcome {
  readonly kind: 'predict' | 'v2';
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: Record<string, unknown>;
}

async function send(kind: Outcome['kind']): Promise<Outcome> {
  const url = kind === 'predict' ? `${base}/predict` : `${base}/v2/models/cnn/infer`;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: kind === 'predict' ? predictBody : inferBody, signal: AbortSignal.timeout(60_000) });
  return { kind, status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
}

describe('overload', () => {
  it('refuses what it cannot serve within MAX_QUEUE_WAIT_MS with fast 503s and Retry-After, and answers the rest', async () => {
    const shedBefore = await metric('digitlab_shed_requests_total');
    const fullBefore = await metric('digitlab_errors_total', { code: 'QUEUE_FULL' });
    const burst = Array.from({ length: 200 }, (_, i) => send(i % 10 === 9 ? 'v2' : 'predict'));
    await new Promise((r) => setTimeout(r, 100));
    const probeStarted = performance.now();
    const live = await fetch(`${base}/health/live`);
    const probeMs = performance.now() - probeStarted;
    const outcomes = await Promise.all(burst);

    expect(live.status).toBe(200);
    expect(probeMs).toBeLessThan(2000);
    const statuses = new Set(outcomes.map((o) => o.status));
    expect([...statuses].sort()).toEqual([200, 503]);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(refused.length).toBeGreaterThan(20);
    expect(outcomes.filter((o) => o.status === 200 && o.kind === 'predict').length).toBeGreaterThan(0);
    for (const o of refused) {
      expect(o.retryAfter).toMatch(/^[1-9]\d*$/);
      const message = String(o.kind === 'predict' ? o.body.message : o.body.error);
      if (o.kind === 'predict') expect(o.body).toMatchObject({ error: 'QUEUE_FULL', statusCode: 503 });
      else expect(Object.keys(o.body)).toEqual(['error']);
      expect(message).toContain('MAX_QUEUE_WAIT_MS');
      // Retry-After covers the expected wait the message names
      const waitMs = Number(/about (\d+) ms/.exec(message)?.[1]);
      // the message rounds to whole milliseconds
      expect(waitMs).toBeGreaterThanOrEqual(MAX_QUEUE_WAIT_MS);
      expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(Math.ceil(waitMs / 1000));
      expect(Number(o.retryAfter)).toBeLessThanOrEqual(Math.ceil(waitMs / 1000) + 1);
    }
    // each refusal is counted once, by model and reason
    expect((await metric('digitlab_shed_requests_total')) - shedBefore).toBe(refused.length);
    expect(await metric('digitlab_shed_requests_total', { reason: 'queue_wait' })).toBeGreaterThanOrEqual(refused.length);
    expect((await metric('digitlab_errors_total', { code: 'QUEUE_FULL' })) - fullBefore).toBe(refused.length);
    // the backlog cleared, it serves again
    expect((await send('predict')).status).toBe(200);
  }, 300_000);
});
