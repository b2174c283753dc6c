import { join, resolve } from 'node:path';
import { Backend } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { loadClassifier } from '../src/classifier.js';
import { eceAt, temperatureNll } from '../src/calibration.js';
import { validationSet } from '../src/calibrate-model.js';
import type { TrainConfig } from '../src/config.js';
import { softmaxRows } from '../src/data.js';
import { evaluateModel, summarize } from '../src/evaluate.js';
import { loadMnist } from '../src/mnist.js';

const WEIGHTS = join(resolve(import.meta.dirname, '..', '..', '..'), 'weights');
const SLICE = 2000;

// The card's test metrics are what `pnpm evaluate` printed for exactly these bytes; on a fixed slice
// of the test set the same weights must get exactly the card's misclassified images wrong.
describe('the shipped weights reproduce their model cards', () => {
  const test = loadMnist('test');
  const slice = { ...test, count: SLICE, images: test.images.subarray(0, SLICE * 784), labels: test.labels.subarray(0, SLICE) };
  for (const name of ['cnn', 'vit'] as const) {
    it(`${name}: on the first ${SLICE} test images, wrong on exactly the card's misclassified ones`, async () => {
      const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm' });
      clf.close();
      const card = clf.card.metrics.test;
      expect(card.count).toBe(10000);
      expect(card.misclassified.length).toBe(Math.round((1 - card.accuracy) * card.count));
      const be = new Backend('async', { poolSize: 2 });
      try {
        const s = summarize(await evaluateModel(be, clf.model, slice), slice.labels);
        expect(s.misclassified).toEqual(card.misclassified.filter((i) => i < SLICE));
        expect(s.accuracy).toBeCloseTo(1 - card.misclassified.filter((i) => i < SLICE).length / SLICE, 12);
      } finally {
        be.destroy();
      }
    });
  }
});

// The cards' temperatures were fitted on the validation images; predict() must apply them.
describe('the shipped models are calibrated by their cards', () => {
  for (const name of ['cnn', 'vit'] as const) {
    it(`${name}: the card's temperature minimises the validation NLL, and predict() returns softmax(logits / T)`, async () => {
      const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'async', poolSize: 2 });
      const cal = clf.card.calibration!;
      expect(cal.bins).toBe(15);
      expect(cal.ece.after).toBeLessThanOrEqual(0.01);
      expect(clf.card.uncertainty!.threshold).toBeGreaterThan(0.5);
      const be = new Backend('async', { poolSize: 2 });
      try {
        const validation = validationSet(clf.card.training.recipe as unknown as TrainConfig);
        const val = await evaluateModel(be, clf.model, validation);
        const d = { logits: val.logits, labels: validation.labels, count: validation.count };
        const best = temperatureNll(d, cal.temperature);
        for (const f of [0.98, 1.02]) expect(temperatureNll(d, cal.temperature * f)).toBeGreaterThan(best);
        expect(eceAt(d, cal.temperature)).toBeLessThan(0.01);
        const n = 16;
        const probs = await clf.predict(validation.images.subarray(0, n * 784), n);
        const expected = softmaxRows(val.logits.subarray(0, n * 10), n, 10, cal.temperature);
        for (let i = 0; i < n * 10; i++) expect(probs[i]).toBeCloseTo(expected[i], 5);
        const raw = softmaxRows(val.logits.subarray(0, n * 10), n);
        expect(Math.max(...probs.map((p, i) => Math.abs(p - raw[i])))).toBeGreaterThan(1e-4);
      } finally {
        be.destroy();
        clf.close();
      }
    });
  }
});
