import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp } from '../testing/check-op.js';
import { softmaxCrossEntropy, softmaxCrossEntropyBackwardRef, softmaxCrossEntropyRef } from '../../src/ops/cross-entropy.js';

describe('softmaxCrossEntropy with label smoothing', () => {
  const labels = [3, 0, 9, 9, 1, 4];
  for (const eps of [0.1, 0.25]) {
    it(`ε = ${eps}: forward and gradient match the reference, the reference gradient matches finite differences`, () =>
      checkOp({
        name: `softmaxCrossEntropy smoothing ${eps}`,
        inputs: { z: { shape: [6, 10] } },
        forward: (be, t) => softmaxCrossEntropy(be, t.z, labels, { smoothing: eps }),
        reference: (t) => softmaxCrossEntropyRef(t.z, labels, 6, 10, eps),
        referenceBackward: (d, t) => ({ z: softmaxCrossEntropyBackwardRef(d[0], t.z, labels, 6, 10, eps) }),
      }));
  }

  it('equals (1 − ε)·NLL + ε·(mean over classes of −log p) and ε = 0 is the plain loss', async () => {
    const be = new Backend('webasm');
    try {
      const z = Tensor.from([2, 4], [2, -1, 0.5, 0, -3, 1, 1, 4]);
      const lab = [0, 3];
      const logp = (row: number): number[] => {
        const r = Array.from(z.data.subarray(row * 4, row * 4 + 4));
        const m = Math.max(...r);
        const lse = m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
        return r.map((v) => v - lse);
      };
      const nll = -(logp(0)[0] + logp(1)[3]) / 2;
      const uniform = -(logp(0).reduce((a, b) => a + b) + logp(1).reduce((a, b) => a + b)) / 8;
      const plain = await softmaxCrossEntropy(be, z, lab);
      const none = await softmaxCrossEntropy(be, z, lab, { smoothing: 0 });
      const smooth = await softmaxCrossEntropy(be, z, lab, { smoothing: 0.2 });
      expect(plain.data[0]).toBeCloseTo(nll, 5);
      expect(none.data[0]).toBe(plain.data[0]);
      expect(smooth.data[0]).toBeCloseTo(0.8 * nll + 0.2 * uniform, 5);
      await expect(softmaxCrossEntropy(be, z, lab, { smoothing: 1 })).rejects.toThrow(/smoothing must be in \[0, 1\)/);
    } finally {
      be.destroy();
    }
  });
});
