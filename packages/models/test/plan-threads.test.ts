// A classifier on several threads (LoadOptions.threads, ThreadedPlan): the same probabilities as
// one thread for every batch size, small batches on the calling thread, new weights seen, a worker
// that exits ending its batch with an error (never a hang), and a process that exits by itself.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { Backend } from '@digitlab/tensor';
import { type Classifier, loadClassifier } from '../src/classifier.js';
import { loadMnist } from '../src/mnist.js';
import { ThreadedPlan } from '../src/plan-threads.js';
import { MIN_THREADED } from '../src/plan-worker-rounds.js';

// every worker thread this file's classifiers start, so that a test can stop one
const started = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Recorded extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      started.push(this);
    }
  }
  return { ...real, Worker: Recorded };
});

const WEIGHTS = join(resolve(import.meta.dirname, '..', '..', '..'), 'weights');
const COUNTS = [1, 3, MIN_THREADED - 1, MIN_THREADED, 255, 256, 1000];
const test = loadMnist('test');
const imagesOf = (from: number, n: number): Float32Array => test.images.subarray(from * 784, (from + n) * 784);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Runs body with a webasm classifier on `threads` threads and one on the calling thread alone to hold it to, then closes both. */
async function withPair(name: 'cnn' | 'vit', threads: number, warm: boolean, body: (one: Classifier, many: Classifier) => Promise<void>): Promise<void> {
  const one = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm', warm, threads: 1 });
  const many = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm', warm, threads });
  try {
    await body(one, many);
  } finally {
    await Promise.all([one.close(), many.close()]);
  }
}

// plans compile and thousands of images run beside whatever else the machine runs: generous limits
const LONG = 600_000;

describe('a classifier on several threads', () => {
  for (const name of ['cnn', 'vit'] as const) {
    it(
      `${name}: two threads give one thread's probabilities within 1e-4 for ${COUNTS.join(', ')} test images; the worker compiles no kernel of its own, and nothing compiles after a warm load`,
      async () => {
        await withPair(name, 2, true, async (one, two) => {
          // the worker built its plan at load from the calling thread's modules: it compiled none of them again
          expect(two.kernelsCompiled()).toBe(one.kernelsCompiled());
          const compiled = two.kernelsCompiled();
          for (const n of COUNTS) {
            const [want, got] = [await one.predict(imagesOf(0, n), n), await two.predict(imagesOf(0, n), n)];
            expect(got).toHaveLength(n * 10);
            expect(maxAbsDiff(got, want), `${n} images`).toBeLessThanOrEqual(1e-4);
          }
          // batches asked for together are answered in order, each with its own images
          const [a, b] = await Promise.all([two.predict(imagesOf(100, 200), 200), two.predict(imagesOf(0, 40), 40)]);
          expect(maxAbsDiff(a, await one.predict(imagesOf(100, 200), 200))).toBeLessThanOrEqual(1e-4);
          expect(maxAbsDiff(b, await one.predict(imagesOf(0, 40), 40))).toBeLessThanOrEqual(1e-4);
          expect(two.kernelsCompiled()).toBe(compiled);
        });
      },
      LONG,
    );
  }

  it(
    `without warm, a batch under ${MIN_THREADED} images starts no thread; the first larger one does`,
    async () => {
      await withPair('cnn', 2, false, async (one, two) => {
        const before = started.length;
        expect(maxAbsDiff(await two.predict(imagesOf(0, MIN_THREADED - 1), MIN_THREADED - 1), await one.predict(imagesOf(0, MIN_THREADED - 1), MIN_THREADED - 1))).toBeLessThanOrEqual(1e-4);
        expect(started.length).toBe(before);
        const single = two.kernelsCompiled();
        expect(single).toBe(one.kernelsCompiled());
        expect(maxAbsDiff(await two.predict(imagesOf(0, 100), 100), await one.predict(imagesOf(0, 100), 100))).toBeLessThanOrEqual(1e-4);
        expect(started.length).toBe(before + 1);
        expect(two.kernelsCompiled()).toBe(single);
      });
    },
    LONG,
  );

  it(
    "the worker threads compile the kernels of the calling thread's backend: with fusedMultiplyAdd off, the bits of one thread",
    async () => {
      const clf = await loadClassifier('cnn', { weightsDir: WEIGHTS, backend: 'webasm', threads: 1 });
      const backends = [new Backend('webasm', { fusedMultiplyAdd: false }), new Backend('webasm', { fusedMultiplyAdd: false })];
      const [one, two] = [new ThreadedPlan(clf.model, backends[0], 1), new ThreadedPlan(clf.model, backends[1], 2)];
      try {
        await Promise.all([one.warm(), two.warm()]);
        expect(await two.run(imagesOf(0, 300), 300)).toEqual(await one.run(imagesOf(0, 300), 300));
      } finally {
        await Promise.all([one.close(), two.close(), clf.close()]);
        for (const be of backends) be.destroy();
      }
    },
    LONG,
  );

  it(
    'after a parameter is marked updated, a large batch runs on the new weights on every thread',
    async () => {
      await withPair('cnn', 2, true, async (one, two) => {
        const before = await two.predict(imagesOf(0, 64), 64);
        for (const clf of [one, two]) {
          const last = [...clf.model.params.values()].at(-1)!;
          for (let i = 0; i < last.data.length; i++) last.data[i] = last.data[i] * 0.5 + (i % 10) * 0.1;
          last.markUpdated();
        }
        const after = await two.predict(imagesOf(0, 64), 64);
        expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-3);
        expect(maxAbsDiff(after, await one.predict(imagesOf(0, 64), 64))).toBeLessThanOrEqual(1e-4);
      });
    },
    LONG,
  );

  it(
    'a worker that has exited fails the next large batch with an error naming it; the batch after starts new threads',
    async () => {
      await withPair('cnn', 2, true, async (one, two) => {
        const want = await one.predict(imagesOf(0, 1000), 1000);
        await started.at(-1)!.terminate();
        await expect(two.predict(imagesOf(0, 64), 64)).rejects.toThrow(/plan worker 0 exited/);
        expect(maxAbsDiff(await two.predict(imagesOf(0, 64), 64), want.subarray(0, 640))).toBeLessThanOrEqual(1e-4);
        // stopped while its batch runs: the batch either finished before the exit or fails, never waits
        const running = two.predict(imagesOf(0, 1000), 1000);
        setImmediate(() => void started.at(-1)!.terminate());
        const outcome = await running.then(
          (probs) => maxAbsDiff(probs, want),
          (e: Error) => e.message,
        );
        if (typeof outcome === 'number') expect(outcome).toBeLessThanOrEqual(1e-4);
        else expect(outcome).toMatch(/plan worker 0 exited/);
        expect(maxAbsDiff(await two.predict(imagesOf(0, 1000), 1000), want)).toBeLessThanOrEqual(1e-4);
      });
    },
    LONG,
  );

  it('refuses a thread count that is not a positive integer, and a prediction after close; close() stops every thread', async () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) {
      await expect(loadClassifier('cnn', { weightsDir: WEIGHTS, backend: 'webasm', threads })).rejects.toThrow(/threads must be a positive integer/);
    }
    const clf = await loadClassifier('cnn', { weightsDir: WEIGHTS, backend: 'webasm', threads: 2 });
    await clf.predict(imagesOf(0, 64), 64);
    const worker = started.at(-1)!;
    const exited = new Promise((done) => worker.once('exit', done));
    // a prediction asked for before close() is answered
    const asked = clf.predict(imagesOf(0, 64), 64);
    await Promise.all([clf.close(), clf.close()]);
    expect(await asked).toHaveLength(640);
    await exited;
    // every prediction after close is refused, not only the first
    for (const n of [1, 64]) await expect(clf.predict(imagesOf(0, n), n)).rejects.toThrow(/cnn classifier is closed/);
  }, LONG);

  for (const closes of [true, false]) {
    it(
      `a process that predicts on several threads exits by itself ${closes ? 'after close()' : 'without close()'}`,
      async () => {
        const script = join(tmpdir(), `digitlab-plan-threads-${process.pid}-${closes}.mts`);
        const classifier = pathToFileURL(resolve(import.meta.dirname, '..', 'src', 'classifier.ts')).href;
        writeFileSync(
          script,
          [
            `import { loadClassifier } from ${JSON.stringify(classifier)};`,
            `const clf = await loadClassifier('cnn', { weightsDir: ${JSON.stringify(WEIGHTS)}, backend: 'webasm', warm: true, threads: 2 });`,
            `const probs = await clf.predict(new Float32Array(64 * 784), 64);`,
            `console.log('predicted', probs.length);`,
            closes ? 'await clf.close();' : '',
          ].join('\n'),
        );
        const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
        const child = spawn(process.execPath, ['--import', tsx, script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        // a hung process is killed after a wide margin, and the test then fails on its signal
        const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
        const [code, signal] = await new Promise<[number | null, string | null]>((done) => child.once('exit', (c, s) => done([c, s])));
        clearTimeout(killer);
        expect(out).toContain('predicted 640');
        expect({ code, signal }).toEqual({ code: 0, signal: null });
      },
      LONG,
    );
  }
});
