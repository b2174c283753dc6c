// Explained requests against the real server on the shipped models: they have a queue and a worker
// of their own per model, started at the first of them, so a plain prediction sent while a
// 32-image explanation runs is answered before it; that queue is bounded like the prediction
// queues (503 QUEUE_FULL with Retry-After, counted under task="explain"), and a server closing
// with an explanation in flight finishes it and stops.
import type { ModelName } from '@digitlab/models';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batcher } from '../src/inference/batcher.js';
import type { LazyRunner } from '../src/inference/lazy-runner.js';
import { EXPLAIN_MAX_IMAGES } from '../src/routes/predict.js';
import { bytesOf, expectError, expectPredictions, shipped, startServer, testDigits } from './helpers.js';

/** The first explained request starts a worker per model and compiles its backward pass, on a busy machine. */
const FIRST_USE_MS = 600_000;
const MODELS: readonly ModelName[] = ['cnn', 'vit'];

const many = testDigits(EXPLAIN_MAX_IMAGES);
const rows = Array.from({ length: many.count }, (_, i) => bytesOf(many, i));

interface Explained {
  predictions: Array<{ cnn: { probabilities: number[] }; vit: { probabilities: number[] }; explanation?: Record<ModelName, { kind: string; map: number[] } | null> }>;
}

function predict(app: FastifyInstance, pixels: number[][], explain: boolean): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: explain ? '/predict?explain=1' : '/predict', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pixels }) });
}

function explainQueue(app: FastifyInstance, name: ModelName): Batcher {
  return app.digitModels.explainQueues[name]!;
}

/** Resolves once `ready()` holds, checking every few milliseconds (a state, not a duration). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe.runIf(shipped('cnn') && shipped('vit'))('the explanation queues', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await startServer({ explainQueueLimit: 2, explainMaxQueueWaitMs: 600_000 });
  }, FIRST_USE_MS);
  afterAll(async () => {
    await app?.close();
  });

  it('start no worker until the first explained request, then answer it with maps', async () => {
    for (const name of MODELS) expect((explainQueue(app, name).runner as LazyRunner).started).toBe(false);
    expectPredictions(await predict(app, rows.slice(0, 1), false), 1);
    for (const name of MODELS) expect((explainQueue(app, name).runner as LazyRunner).started).toBe(false);
    // twice: the first starts the workers and compiles, the second teaches the queues their time per image
    for (let i = 0; i < 2; i++) {
      const body = expectPredictions(await predict(app, rows.slice(0, 1), true), 1) as unknown as Explained;
      expect(body.predictions[0].explanation?.cnn?.kind).toBe('saliency');
      expect(body.predictions[0].explanation?.vit?.kind).toBe('attention');
    }
    for (const name of MODELS) expect((explainQueue(app, name).runner as LazyRunner).started).toBe(true);
  }, FIRST_USE_MS);

  it('answer a plain prediction sent while a 32-image explanation runs before the explanation finishes, and the explanation unchanged', async () => {
    // the plain path's buckets for 1 and 32 images compiled, and the answers to compare with
    const plain = expectPredictions(await predict(app, rows, false), EXPLAIN_MAX_IMAGES) as unknown as Explained;
    expectPredictions(await predict(app, rows.slice(0, 1), false), 1);
    const finished: string[] = [];
    const explained = predict(app, rows, true).then((response) => {
      finished.push('explanation');
      return response;
    });
    await until(() => MODELS.every((name) => explainQueue(app, name).inFlight === EXPLAIN_MAX_IMAGES));
    for (let i = 0; i < 3; i++) {
      expectPredictions(await predict(app, rows.slice(i, i + 1), false), 1);
      finished.push(`plain ${i}`);
    }
    const body = expectPredictions(await explained, EXPLAIN_MAX_IMAGES) as unknown as Explained;
    expect(finished).toEqual(['plain 0', 'plain 1', 'plain 2', 'explanation']);
    body.predictions.forEach((p, i) => {
      for (const name of MODELS) {
        expect(p[name].probabilities).toEqual(plain.predictions[i][name].probabilities);
        expect(p.explanation?.[name]?.map).toHaveLength(784);
      }
    });
  }, FIRST_USE_MS);

  it('refuse an explained request past EXPLAIN_QUEUE_LIMIT with 503 QUEUE_FULL and Retry-After, while plain predictions are answered', async () => {
    const metrics = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const shedLine = /^digitlab_shed_requests_total\{model="(cnn|vit)",task="explain",reason="queue_limit"\} (\d+)/m;
    const shedBefore = Number(shedLine.exec(await metrics())?.[2] ?? 0);
    // two batches run at a time in a model's worker: a long one and a short one, then two images wait
    const running = predict(app, rows, true);
    await until(() => explainQueue(app, 'cnn').inFlight === EXPLAIN_MAX_IMAGES);
    const second = predict(app, rows.slice(0, 1), true);
    await until(() => explainQueue(app, 'cnn').inFlight === EXPLAIN_MAX_IMAGES + 1);
    const queued = predict(app, rows.slice(0, 2), true);
    await until(() => explainQueue(app, 'cnn').depth === 2);
    const refused = await predict(app, rows.slice(0, 1), true);
    const body = expectError(refused, 503, 'QUEUE_FULL', 'explanation queue is full', 'EXPLAIN_QUEUE_LIMIT');
    expect(body.message).toMatch(/retry after \d+ s/);
    expect(String(refused.headers['retry-after'])).toMatch(/^[1-9]\d*$/);
    const depth = /^digitlab_queue_depth_images\{model="cnn",task="explain"\} (\d+)/m.exec(await metrics());
    expect(Number(depth?.[1])).toBe(2);
    // the prediction queues take no part
    expectPredictions(await predict(app, rows.slice(0, 1), false), 1);
    expectPredictions(await running, EXPLAIN_MAX_IMAGES);
    expectPredictions(await second, 1);
    expectPredictions(await queued, 2);
    const text = await metrics();
    expect(Number(shedLine.exec(text)?.[2])).toBe(shedBefore + 1);
    expect(text).toMatch(/^digitlab_batch_size_images_count\{model="vit",task="explain"\} [1-9]/m);
    expect(text).toMatch(/^digitlab_inference_seconds_count\{model="cnn",task="predict"\} [1-9]/m);
  }, FIRST_USE_MS);
});

describe.runIf(shipped('cnn') && shipped('vit'))('closing with an explanation in flight', () => {
  it('finishes the explanation, then stops its workers and ends', async () => {
    const app = await startServer();
    const explained = predict(app, rows, true);
    // in flight while its workers start: close waits for it, then stops them
    await until(() => MODELS.every((name) => explainQueue(app, name).inFlight === EXPLAIN_MAX_IMAGES));
    const closed = app.close();
    const body = expectPredictions(await explained, EXPLAIN_MAX_IMAGES) as unknown as Explained;
    for (const p of body.predictions) expect(p.explanation?.cnn?.map).toHaveLength(784);
    await closed;
    expect(MODELS.every((name) => explainQueue(app, name).inFlight === 0 && explainQueue(app, name).depth === 0)).toBe(true);
  }, FIRST_USE_MS);
});
