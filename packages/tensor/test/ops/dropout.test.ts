import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { Rng } from '../../src/random.js';
import { backward } from '../../src/tape.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp } from '../testing/check-op.js';
import { dropout, dropoutRef } from '../../src/ops/dropout.js';

describe('dropout', () => {
  it('matches the reference for the mask the seeded generator draws', async () => {
    const p = 0.3;
    // the same seed draws the same mask inside the op and here
    const maskFor = (n: number) => {
      const r = new Rng(99);
      return Float64Array.from({ length: n }, () => (r.uniform() < p ? 0 : 1 / (1 - p)));
    };
    await checkOp({
      name: 'dropout',
      inputs: { x: { shape: [4, 50] } },
      forward: (be, t) => dropout(be, t.x, p, new Rng(99), true),
      reference: (t) => dropoutRef(t.x, maskFor(200)),
      referenceBackward: (d) => ({ x: dropoutRef(d, maskFor(200)) }),
    });
  });

  it('drops about p of the values, keeps the mean, and is the identity at inference', async () => {
    const be = new Backend('webasm');
    const x = new Tensor([20000], new Float32Array(20000).fill(1), true);
    const y = await dropout(be, x, 0.25, new Rng(1), true);
    const zeros = y.data.filter((v) => v === 0).length;
    expect(zeros / 20000).toBeGreaterThan(0.23);
    expect(zeros / 20000).toBeLessThan(0.27);
    expect(y.data.reduce((a, b) => a + b, 0) / 20000).toBeCloseTo(1, 1);
    await backward(y, new Float32Array(20000).fill(1));
    expect(Array.from(x.grad!.slice(0, 50))).toEqual(Array.from(y.data.slice(0, 50)));
    expect(await dropout(be, x, 0.25, new Rng(1), false)).toBe(x);
    be.destroy();
  });
});
