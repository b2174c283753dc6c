import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { backward } from '../../src/tape.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp } from '../testing/check-op.js';
import { addBias, addBiasBackwardRef, addBiasRef } from '../../src/ops/bias.js';
import { softmaxCrossEntropy, softmaxCrossEntropyBackwardRef, softmaxCrossEntropyRef } from '../../src/ops/cross-entropy.js';
import { relu, reluBackwardRef, reluRef } from '../../src/ops/relu.js';
import { flatten, reshape } from '../../src/ops/reshape.js';

describe('relu', () => {
  it('matches the reference', () =>
    checkOp({
      name: 'relu',
      inputs: { x: { shape: [3, 5, 7] } },
      forward: (be, t) => relu(be, t.x),
      reference: (t) => reluRef(t.x),
      referenceBackward: (d, t) => ({ x: reluBackwardRef(d, t.x) }),
    }));
});

describe('addBias', () => {
  it('matches the reference, with a bias reduction over 1200 rows', () =>
    checkOp({
      name: 'addBias',
      inputs: { x: { shape: [1200, 6] }, b: { shape: [6] } },
      forward: (be, t) => addBias(be, t.x, t.b),
      reference: (t) => addBiasRef(t.x, t.b),
      referenceBackward: (d) => {
        const r = addBiasBackwardRef(d, 6);
        return { x: r.dx, b: r.db };
      },
      fdSamples: 6,
    }));
});

describe('softmaxCrossEntropy', () => {
  const labels = [3, 0, 9, 9, 1];
  it('matches the reference', () =>
    checkOp({
      name: 'softmaxCrossEntropy',
      inputs: { z: { shape: [5, 10] } },
      forward: (be, t) => softmaxCrossEntropy(be, t.z, labels),
      reference: (t) => softmaxCrossEntropyRef(t.z, labels, 5, 10),
      referenceBackward: (d, t) => ({ z: softmaxCrossEntropyBackwardRef(d[0], t.z, labels, 5, 10) }),
    }));

  it('is stable for large logits and rejects labels outside the classes', async () => {
    const be = new Backend('webasm');
    const z = Tensor.from([1, 3], [1000, 0, -1000]);
    const loss = await softmaxCrossEntropy(be, z, [0]);
    expect(loss.data[0]).toBeCloseTo(0, 5);
    await expect(softmaxCrossEntropy(be, z, [3])).rejects.toThrow(/label 3 at row 0/);
    be.destroy();
  });
});

describe('reshape', () => {
  it('shares values and passes the gradient through', async () => {
    const x = Tensor.from([2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], true);
    const y = flatten(x);
    expect(y.shape).toEqual([2, 6]);
    await backward(y, Float32Array.from({ length: 12 }, (_, i) => i));
    expect(Array.from(x.grad!)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(() => reshape(x, [5, 2])).toThrow(/needs 10/);
  });
});
