// POST /predict?explain=1 against the real server on the shipped models (each in its worker
// thread): the maps are the ones @digitlab/models computes for the same images, the answers are
// those without explain, bad values of the parameter are clear 4xx, and an explained request runs
// as a batch of its own.
import { PIXELS } from '@digitlab/digit-csv';
import { Backend, explainImages, loadClassifier, type ModelCard, type ModelName } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batcher } from '../src/inference/batcher.js';
import type { Runner } from '../src/inference/runner.js';
import { EXPLAIN_MAX_IMAGES } from '../src/routes/predict.js';
import { WEIGHTS_DIR, bytesOf, digitsCsv, expectError, expectPredictions, shipped, startServer, testDigits } from './helpers.js';

interface ExplainedBody {
  predictions: Array<{ cnn: { probabilities: number[] } | null; vit: { probabilities: number[] } | null; explanation?: Record<ModelName, { kind: string; map: number[] } | null> }>;
}

const digits = testDigits(3);
const pixels = [0, 1, 2].map((i) => bytesOf(digits, i));
const json = (body: unknown) => JSON.stringify(body);
// the first explained request compiles the backward pass's kernels in each worker
const FIRST_USE_MS = 240_000;

describe.runIf(shipped('cnn') && shipped('vit'))('POST /predict?explain=1', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await startServer();
  }, FIRST_USE_MS);
  afterAll(async () => {
    await app?.close();
  });

  const predict = (query: string, payload: string, contentType = 'application/json', accept = 'application/json') =>
    app.inject({ method: 'POST', url: `/predict${query}`, headers: { 'content-type': contentType, accept }, payload });

  it("returns each model's 28x28 map per image, the ones @digitlab/models computes, beside the same answers", async () => {
    const explained = expectPredictions(await predict('?explain=1', json({ pixels })), 3) as unknown as ExplainedBody;
    const plain = expectPredictions(await predict('', json({ pixels })), 3) as unknown as ExplainedBody;
    const be = new Backend('webasm');
    try {
      for (const [name, kind] of [['cnn', 'saliency'], ['vit', 'attention']] as const) {
        const classifier = await loadClassifier(name, { weightsDir: WEIGHTS_DIR, backend: 'cpu' });
        const expected = await explainImages(be, classifier.model, digits.images, digits.count);
        classifier.close();
        explained.predictions.forEach((p, i) => {
          expect(p[name]!.probabilities).toEqual(plain.predictions[i][name]!.probabilities);
          const got = p.explanation![name]!;
          expect(got.kind).toBe(kind);
          expect(got.map).toHaveLength(PIXELS);
          expect(Math.max(...got.map)).toBe(1);
          for (let px = 0; px < PIXELS; px++) expect(Math.abs(got.map[px] - expected[i].map[px]), `${name} image ${i} pixel ${px}`).toBeLessThanOrEqual(1e-3);
        });
      }
    } finally {
      be.destroy();
    }
    // three different digits (7, 2, 1): three different maps
    const maps = explained.predictions.map((p) => p.explanation!.cnn!.map.join());
    expect(new Set(maps).size).toBe(3);
    for (const p of plain.predictions) expect(p.explanation).toBeUndefined();
  }, FIRST_USE_MS);

  it('explains CSV bodies and NDJSON lines too; explain=0 and explain=false leave the maps out', async () => {
    const csv = expectPredictions(await predict('?explain=true', digitsCsv(testDigits(2)), 'text/csv'), 2) as unknown as ExplainedBody;
    for (const p of csv.predictions) expect(p.explanation?.vit?.map).toHaveLength(PIXELS);
    const ndjson = await predict('?explain=1', json({ pixels: pixels.slice(0, 2) }), 'application/json', 'application/x-ndjson');
    expect(ndjson.statusCode).toBe(200);
    const lines = ndjson.body.trim().split('\n').map((line) => JSON.parse(line) as ExplainedBody['predictions'][number]);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.explanation?.cnn?.kind).toBe('saliency');
    for (const query of ['?explain=0', '?explain=false']) {
      const body = expectPredictions(await predict(query, json({ pixels: pixels.slice(0, 1) })), 1) as unknown as ExplainedBody;
      expect(body.predictions[0].explanation).toBeUndefined();
    }
  }, FIRST_USE_MS);

  it('refuses other values of explain with a 400 that says what is accepted', async () => {
    for (const [query, sent] of [['?explain=yes', '"yes"'], ['?explain=', '""'], ['?explain=1&explain=1', 'given 2 times']]) {
      expectError(await predict(query, json({ pixels: pixels.slice(0, 1) })), 400, 'BAD_EXPLAIN', `explain is ${sent}`, 'explain=1', 'explain=0');
    }
  });

  it(`refuses to explain more than ${EXPLAIN_MAX_IMAGES} images in one request (413), JSON or CSV`, async () => {
    const many = testDigits(EXPLAIN_MAX_IMAGES + 1);
    const rows = Array.from({ length: many.count }, (_, i) => bytesOf(many, i));
    expectError(await predict('?explain=1', json({ pixels: rows })), 413, 'TOO_MANY_TO_EXPLAIN', `at most ${EXPLAIN_MAX_IMAGES} images`, `has ${many.count})`);
    expectError(await predict('?explain=1', digitsCsv(many), 'text/csv'), 413, 'TOO_MANY_TO_EXPLAIN', `has at least ${many.count})`);
    // the same images without explain are fine
    expectPredictions(await predict('', json({ pixels: rows })), many.count);
  }, FIRST_USE_MS);
});

describe.runIf(shipped('cnn') && shipped('vit'))('?explain=1 with models given in ServerConfig.classifiers', () => {
  it('answers as usual, each map null: such a model runs on the HTTP thread and has no explanation pass', async () => {
    const classifiers = { cnn: await loadClassifier('cnn', { weightsDir: WEIGHTS_DIR }), vit: await loadClassifier('vit', { weightsDir: WEIGHTS_DIR }) };
    const app = await startServer({ classifiers });
    try {
      const response = await app.inject({ method: 'POST', url: '/predict?explain=1', headers: { 'content-type': 'application/json' }, payload: json({ pixels: pixels.slice(0, 1) }) });
      const body = expectPredictions(response, 1) as unknown as ExplainedBody;
      expect(body.predictions[0].cnn).not.toBeNull();
      expect(body.predictions[0].explanation).toEqual({ cnn: null, vit: null });
    } finally {
      await app.close();
      classifiers.cnn.close();
      classifiers.vit.close();
    }
  });
});

describe('an explained request in the batcher', () => {
  it('runs as a batch of its own, in its turn, and only it gets maps', async () => {
    const batches: Array<{ count: number; explain: boolean }> = [];
    const runner: Runner = {
      name: 'cnn',
      card: {} as ModelCard,
      async predict(_images, count, explain = false) {
        batches.push({ count, explain });
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { probabilities: new Float32Array(count * 10), ms: 1, ...(explain ? { explained: { kind: 'saliency' as const, maps: new Float32Array(count * PIXELS).fill(0.5) } } : {}) };
      },
      close: async () => undefined,
    };
    const batcher = new Batcher(runner, { maxBatch: 64, maxWaitMs: 20, maxQueue: 256, maxQueueWaitMs: 60_000 });
    const image = new Float32Array(PIXELS);
    const deadline = performance.now() + 10_000;
    const answers = await Promise.all(
      [false, false, true, false, false].map((explain) => batcher.submit(image, 1, { deadline, explain })),
    );
    expect(batches).toEqual([
      { count: 2, explain: false },
      { count: 1, explain: true },
      { count: 2, explain: false },
    ]);
    expect(answers.map((a) => a.explained !== undefined)).toEqual([false, false, true, false, false]);
    expect(answers[2].explained!.maps).toHaveLength(PIXELS);
  });
});
