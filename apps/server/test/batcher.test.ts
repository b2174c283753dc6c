// The model queue on its own, with a runner that takes a known time per image: answers split back
// per request, two batches in flight, and admission by expected wait (backlog x measured time per
// image) against MAX_QUEUE_WAIT_MS and the request's deadline, with Retry-After from the backlog.
import { PIXELS } from '@digitlab/digit-csv';
import type { ModelCard } from '@digitlab/models';
import { describe, expect, it } from 'vitest';
import { OverloadError } from '../src/errors.js';
import { Batcher, type BatcherOptions, type ShedReason } from '../src/inference/batcher.js';
import type { Runner, RunnerResult } from '../src/inference/runner.js';

/** Waits at least ms by performance.now(): a timer alone may fire a fraction of a millisecond early. */
async function sleepAtLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - performance.now())));
}

/** A runner that, like a model's worker, runs one batch at a time, taking perImageMs per image; row i of the answer carries image i's first pixel. */
function timedRunner(perImageMs: number, options: { compiled?: boolean } = {}) {
  let chain: Promise<unknown> = Promise.resolve();
  const stats = { outstanding: 0, mostOutstanding: 0, batches: [] as number[] };
  const runner: Runner = {
    name: 'cnn',
    // the queue reads only the name; a card is what the Runner type promises to the routes
    card: { version: 'test' } as unknown as ModelCard,
    predict(images, count) {
      stats.outstanding++;
      stats.mostOutstanding = Math.max(stats.mostOutstanding, stats.outstanding);
      const job = chain.then(async (): Promise<RunnerResult> => {
        await sleepAtLeast(count * perImageMs);
        const probabilities = new Float32Array(count * 10);
        for (let i = 0; i < count; i++) probabilities[i * 10] = images[i * PIXELS];
        stats.outstanding--;
        stats.batches.push(count);
        return { probabilities, ms: count * perImageMs, ...(options.compiled === undefined ? {} : { compiled: options.compiled }) };
      });
      chain = job;
      return job;
    },
    close: async () => undefined,
  };
  return { runner, stats };
}

/** count images whose first pixel is marks[i]. */
function images(marks: number[]): Float32Array {
  const out = new Float32Array(marks.length * PIXELS);
  marks.forEach((mark, i) => (out[i * PIXELS] = mark));
  return out;
}

const far = (): number => performance.now() + 60_000;

/** The error a promise was already rejected with, or 'pending' / 'resolved': what it is when handed over, whatever the machine's speed. */
async function settledNow(promise: Promise<unknown>): Promise<unknown> {
  const marker = Symbol('pending');
  // a promise settled before race() is called wins over one that settles only after it
  const first = await Promise.race([promise, Promise.resolve(marker)]).then(
    (value) => (value === marker ? 'pending' : 'resolved'),
    (error: unknown) => error,
  );
  promise.catch(() => undefined);
  return first;
}
const options = (overrides: Partial<BatcherOptions> = {}): BatcherOptions => ({ maxBatch: 64, maxWaitMs: 2, maxQueue: 10_000, maxQueueWaitMs: 100, ...overrides });

function observed() {
  const shed: ShedReason[] = [];
  return { shed, observer: { batch: () => undefined, waited: () => undefined, shed: (_model: string, reason: ShedReason) => shed.push(reason) } };
}

describe('Batcher', () => {
  it('gathers concurrent requests into batches and gives each its own rows back', async () => {
    const { runner, stats } = timedRunner(0.1);
    const batcher = new Batcher(runner, options({ maxWaitMs: 20 }));
    const answers = await Promise.all([[1], [2, 3, 4], [5, 6]].map((marks) => batcher.submit(images(marks), marks.length, { deadline: far() })));
    expect(stats.batches).toEqual([6]);
    expect(answers.map((a) => Array.from({ length: a.probabilities.length / 10 }, (_, i) => a.probabilities[i * 10]))).toEqual([[1], [2, 3, 4], [5, 6]]);
    expect(answers.every((a) => a.batchImages === 6)).toBe(true);
  });

  it('keeps a second batch waiting in the runner while the first computes, never more', async () => {
    const { runner, stats } = timedRunner(1);
    const batcher = new Batcher(runner, options({ maxBatch: 8, maxQueueWaitMs: 60_000 }));
    await Promise.all(Array.from({ length: 6 }, () => batcher.submit(images(new Array(8).fill(0)), 8, { deadline: far() })));
    expect(stats.batches).toEqual([8, 8, 8, 8, 8, 8]);
    expect(stats.mostOutstanding).toBe(2);
  });

  it('refuses at once, with QUEUE_FULL and a Retry-After covering the backlog, a request expected to wait past MAX_QUEUE_WAIT_MS', async () => {
    const { runner } = timedRunner(2);
    const { shed, observer } = observed();
    const batcher = new Batcher(runner, options({ maxQueueWaitMs: 100 }), observer);
    expect(batcher.perImageMs).toBeUndefined();
    await batcher.submit(images(new Array(20).fill(0)), 20, { deadline: far() });
    expect(batcher.perImageMs).toBeGreaterThanOrEqual(2);
    // an idle model takes any request; 800 images are then a backlog of 1.6 s or more
    const backlog = batcher.submit(images(new Array(800).fill(0)), 800, { deadline: far() });
    const expected = batcher.expectedWaitMs();
    expect(expected).toBeGreaterThan(1500);
    // refused at once: the answer is settled when submit returns, not after any wait
    const refused = await settledNow(batcher.submit(images([7]), 1, { deadline: far() }));
    expect(refused).toBeInstanceOf(OverloadError);
    const error = refused as OverloadError;
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.message).toContain('MAX_QUEUE_WAIT_MS');
    expect(error.retryAfterS).toBeGreaterThanOrEqual(Math.ceil(expected / 1000));
    expect(error.retryAfterS).toBeLessThanOrEqual(Math.ceil(expected / 1000) + 1);
    expect(shed).toEqual(['queue_wait']);
    await backlog;
    // the backlog cleared, the model takes requests again
    await expect(batcher.submit(images([7]), 1, { deadline: far() })).resolves.toMatchObject({ batchImages: 1 });
  });

  it('refuses at once with DEADLINE_EXCEEDED a request that cannot finish before its deadline', async () => {
    const { runner } = timedRunner(2);
    const { shed, observer } = observed();
    const batcher = new Batcher(runner, options({ maxQueueWaitMs: 60_000 }), observer);
    await batcher.submit(images([0, 0, 0, 0, 0]), 5, { deadline: far() });
    const backlog = batcher.submit(images(new Array(100).fill(0)), 100, { deadline: far() });
    // refused at once (settled when submit returns), not when its deadline passes
    const late = await settledNow(batcher.submit(images([1]), 1, { deadline: performance.now() + 50 }));
    expect(late).toMatchObject({ code: 'DEADLINE_EXCEEDED', statusCode: 503 });
    // one that fits its deadline is queued and answered
    await expect(batcher.submit(images([1]), 1, { deadline: performance.now() + 30_000 })).resolves.toMatchObject({ batchImages: 1 });
    await backlog;
    expect(shed).toEqual(['deadline']);
  });

  it('still bounds the images waiting by QUEUE_LIMIT', async () => {
    const { runner } = timedRunner(1);
    const { shed, observer } = observed();
    const batcher = new Batcher(runner, options({ maxBatch: 4, maxQueue: 8, maxQueueWaitMs: 60_000 }), observer);
    const admitted = [0, 1, 2].map(() => batcher.submit(images([0, 0, 0, 0]), 4, { deadline: far() }));
    const more = [batcher.submit(images([0, 0, 0, 0]), 4, { deadline: far() })];
    // two batches went to the runner; 8 images wait, so one more does not fit
    expect(batcher.depth).toBe(8);
    await expect(batcher.submit(images([0]), 1, { deadline: far() })).rejects.toMatchObject({ code: 'QUEUE_FULL', message: expect.stringContaining('QUEUE_LIMIT') });
    expect(shed).toEqual(['queue_limit']);
    await Promise.all([...admitted, ...more].map((p) => p.catch(() => undefined)));
  });

  it('decides a refusal without throwing, the same one admit() throws, and takes an idle model whatever the count', async () => {
    const { runner } = timedRunner(2);
    const { shed, observer } = observed();
    const batcher = new Batcher(runner, options({ maxQueueWaitMs: 100 }), observer);
    expect(batcher.refusal(10_000, far())).toBeUndefined();
    await batcher.submit(images(new Array(10).fill(0)), 10, { deadline: far() });
    const backlog = batcher.submit(images(new Array(200).fill(0)), 200, { deadline: far() });
    const refused = batcher.refusal(1, far());
    expect(refused).toMatchObject({ code: 'QUEUE_FULL', message: expect.stringContaining('MAX_QUEUE_WAIT_MS') });
    expect(refused!.retryAfterS).toBeGreaterThanOrEqual(1);
    let thrown: unknown;
    try {
      batcher.admit(1, far());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OverloadError);
    expect(thrown).toMatchObject({ code: refused!.code, statusCode: 503 });
    expect(shed).toEqual(['queue_wait', 'queue_wait']);
    await backlog;
  });

  it('does not learn its time per image from batches that compiled kernels', async () => {
    const { runner } = timedRunner(1, { compiled: true });
    const batcher = new Batcher(runner, options());
    await batcher.submit(images([0, 0]), 2, { deadline: far() });
    expect(batcher.perImageMs).toBeUndefined();
    expect(batcher.expectedWaitMs()).toBe(0);
  });
});
