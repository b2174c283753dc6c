import { join, resolve } from 'node:path';
import { Backend } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { loadClassifier } from '../src/classifier.js';
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
