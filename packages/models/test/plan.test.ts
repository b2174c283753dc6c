import { join, resolve } from 'node:path';
import { Adam, Backend, EXPECTED_KERNEL, Tensor, noGrad, softmaxCrossEntropy, backward, type Mode } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../src/build.js';
import { loadClassifier } from '../src/classifier.js';
import { loadPreset } from '../src/presets.js';
import { argmaxRow } from '../src/data.js';
import { loadMnist } from '../src/mnist.js';
import type { Model } from '../src/model.js';
import { buildPlan } from '../src/plan.js';

const WEIGHTS = join(resolve(import.meta.dirname, '..', '..', '..'), 'weights');

/** The op-by-op forward pass (the reference), in batches of up to 250. */
async function opByOp(be: Backend, model: Model, images: Float32Array, count: number): Promise<Float32Array> {
  const out = new Float32Array(count * 10);
  for (let s = 0; s < count; s += 250) {
    const m = Math.min(250, count - s);
    const x = new Tensor([m, 1, 28, 28], images.slice(s * 784, (s + m) * 784));
    out.set((await noGrad(() => model.forward(be, x, { training: false }))).data, s * 10);
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

// gpu.js's cpu mode runs these models at a few images a second: a handful of images there
const CASES: readonly { mode: Mode; count: number }[] = [
  { mode: 'webasm', count: 1000 },
  { mode: 'async', count: 1000 },
  { mode: 'cpu', count: 3 },
];

describe('the inference plan', () => {
  const test = loadMnist('test');
  for (const name of ['cnn', 'vit'] as const) {
    for (const { mode, count } of CASES) {
      it(`${name} on ${mode}: the first ${count} test images' logits equal the op-by-op pass's within 1e-4, and the card's mistakes are its mistakes`, async () => {
        const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'cpu' });
        clf.close();
        const be = new Backend(mode, { poolSize: 2 });
        const plan = buildPlan(clf.model, be);
        try {
          const images = test.images.subarray(0, count * 784);
          const got = plan.run(images, count);
          expect([...be.executed]).toEqual([EXPECTED_KERNEL[mode]]);
          const want = await opByOp(be, clf.model, images, count);
          expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4);
          const wrong = [];
          for (let i = 0; i < count; i++) if (argmaxRow(got, i) !== test.labels[i]) wrong.push(i);
          expect(wrong).toEqual(clf.card.metrics.test.misclassified.filter((i) => i < count));
        } finally {
          plan.destroy();
          be.destroy();
        }
      });
    }
  }

  for (const preset of ['tiny-cnn', 'tiny-vit']) {
    it(`${preset}: a batch gives each image the logits it gets alone, and a training step's new weights reach the plan`, async () => {
      const p = loadPreset(preset);
      const model = buildModel(p.model, 3);
      const be = new Backend('webasm');
      const plan = buildPlan(model, be);
      try {
        const count = 7;
        const images = test.images.slice(0, count * 784);
        const batch = plan.run(images, count);
        for (const i of [0, 4, 6]) expect(maxAbsDiff(plan.run(images.subarray(i * 784), 1), batch.subarray(i * 10, i * 10 + 10))).toBeLessThanOrEqual(1e-5);
        // one optimizer step changes every parameter in place (and bumps its version)
        const opt = new Adam([...model.params.values()], { lr: 0.05 });
        const logits = await model.forward(be, new Tensor([count, 1, 28, 28], images), { training: false });
        await backward(await softmaxCrossEntropy(be, logits, test.labels.subarray(0, count)));
        opt.step();
        const after = plan.run(images, count);
        expect(maxAbsDiff(after, batch)).toBeGreaterThan(1e-3);
        expect(maxAbsDiff(after, await opByOp(be, model, images, count))).toBeLessThanOrEqual(1e-4);
      } finally {
        plan.destroy();
        be.destroy();
      }
    });
  }

  it('refuses a count its images do not hold', async () => {
    const model = buildModel(loadPreset('tiny-cnn').model, 1);
    const be = new Backend('webasm');
    const plan = buildPlan(model, be);
    try {
      expect(() => plan.run(new Float32Array(784), 2)).toThrow(/2 images need 1568 values, got 784/);
      expect(() => plan.run(new Float32Array(784), 1.5)).toThrow(/count must be a non-negative integer/);
      expect(plan.run(new Float32Array(0), 0)).toHaveLength(0);
    } finally {
      plan.destroy();
      be.destroy();
    }
  });
});

describe('a warm classifier', () => {
  for (const name of ['cnn', 'vit'] as const) {
    it(`${name}: loading with warm compiles every kernel; predictions of 1 to 1000 images compile nothing`, async () => {
      const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm', warm: true });
      try {
        expect(clf.warmMs).toBeGreaterThan(0);
        const compiled = clf.kernelsCompiled();
        expect(compiled).toBeGreaterThan(0);
        const images = loadMnist('test').images;
        for (const n of [1, 3, 17, 255, 256, 1000]) {
          const probs = await clf.predict(images.subarray(0, n * 784), n);
          expect(probs).toHaveLength(n * 10);
          expect(probs.subarray(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        }
        expect(clf.kernelsCompiled()).toBe(compiled);
      } finally {
        clf.close();
      }
    });
  }
});
