import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp } from '../testing/check-op.js';
import { selectToken } from '../../src/ops/select-token.js';
import { selectTokenBackwardRef, selectTokenRef } from '../../src/ops/select-token.ref.js';

describe('selectToken', () => {
  for (const [B, T, D, index] of [
    [3, 5, 4, 0],
    [2, 17, 6, 16],
    [4, 3, 8, 1],
  ]) {
    it(`x [${B},${T},${D}], token ${index}`, async () => {
      await checkOp({
        name: `selectToken [${B},${T},${D}] @${index}`,
        inputs: { x: { shape: [B, T, D] } },
        forward: (be, t) => selectToken(be, t.x, index),
        reference: (t) => selectTokenRef(t.x, B, T, D, index),
        referenceBackward: (dy) => ({ x: selectTokenBackwardRef(dy, B, T, D, index) }),
      });
    });
  }

  it('rejects an index outside the tokens', async () => {
    const be = new Backend('cpu');
    try {
      await expect(selectToken(be, Tensor.zeros([1, 3, 2]), 3)).rejects.toThrow(/outside/);
    } finally {
      be.destroy();
    }
  });
});
