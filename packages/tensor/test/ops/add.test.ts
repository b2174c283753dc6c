import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { backward } from '../../src/tape.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp } from '../testing/check-op.js';
import { add } from '../../src/ops/add.js';
import { addBackwardRef, addRef } from '../../src/ops/add.ref.js';

describe('add', () => {
  it('[2, 3, 5]', async () => {
    await checkOp({
      name: 'add [2,3,5]',
      inputs: { a: { shape: [2, 3, 5] }, b: { shape: [2, 3, 5] } },
      forward: (be, t) => add(be, t.a, t.b),
      reference: (t) => addRef(t.a, t.b),
      referenceBackward: (dy) => {
        const r = addBackwardRef(dy);
        return { a: r.da, b: r.db };
      },
    });
  });

  it('x + x accumulates the gradient twice', async () => {
    const be = new Backend('webasm');
    try {
      const x = Tensor.from([3], [1, 2, 3], true);
      const y = await add(be, x, x);
      await backward(y, new Float32Array([1, 1, 1]));
      expect(Array.from(x.grad!)).toEqual([2, 2, 2]);
    } finally {
      be.destroy();
    }
  });

  it('rejects different shapes', async () => {
    const be = new Backend('cpu');
    try {
      await expect(add(be, Tensor.zeros([2, 3]), Tensor.zeros([3, 2]))).rejects.toThrow(/differ/);
    } finally {
      be.destroy();
    }
  });
});
