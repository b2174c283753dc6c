import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp, type OpCase } from '../testing/check-op.js';
import { patchify } from '../../src/ops/patchify.js';
import { patchifyBackwardRef, patchifyRef } from '../../src/ops/patchify.ref.js';

function patchifyCase(B: number, C: number, H: number, W: number, p: number): OpCase {
  return {
    name: `patchify [${B},${C},${H},${W}] p=${p}`,
    inputs: { x: { shape: [B, C, H, W] } },
    forward: (be, t) => patchify(be, t.x, p),
    reference: (t) => patchifyRef(t.x, B, C, H, W, p),
    referenceBackward: (dy) => ({ x: patchifyBackwardRef(dy, B, C, H, W, p) }),
  };
}

describe('patchify', () => {
  it('MNIST shape: 1 channel, 28x28 into 16 patches of 7x7', async () => {
    await checkOp(patchifyCase(2, 1, 28, 28, 7));
  });

  it('several channels, non-square image, 3x2 patch grid', async () => {
    await checkOp(patchifyCase(2, 3, 6, 4, 2));
  });

  it('orders patches row-major and channels first inside a patch', async () => {
    // x[c][y][x] = 100c + 10y + x, 2 channels of 4x4, 2x2 patches
    const x = Tensor.from([1, 2, 4, 4], Array.from({ length: 32 }, (_, i) => 100 * Math.floor(i / 16) + 10 * Math.floor((i % 16) / 4) + (i % 4)));
    const be = new Backend('webasm');
    try {
      const out = await patchify(be, x, 2);
      expect(out.shape).toEqual([1, 4, 8]);
      // patch 1 is the top-right one: rows 0-1, columns 2-3
      expect(Array.from(out.data.subarray(8, 16))).toEqual([2, 3, 12, 13, 102, 103, 112, 113]);
    } finally {
      be.destroy();
    }
  });

  it('rejects an image that patches do not tile', async () => {
    const be = new Backend('cpu');
    try {
      await expect(patchify(be, Tensor.zeros([1, 1, 28, 28]), 5)).rejects.toThrow(/divisible/);
      await expect(patchify(be, Tensor.zeros([1, 1, 28, 27]), 7)).rejects.toThrow(/divisible/);
    } finally {
      be.destroy();
    }
  });
});
