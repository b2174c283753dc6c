import { describe, it } from 'vitest';
import { checkOp } from '../testing/check-op.js';
import { maxPool2d } from './pool.js';
import { maxPoolBackwardRef, maxPoolRef } from './pool.ref.js';

describe('maxPool2d', () => {
  for (const [B, C, H, W, k] of [
    [2, 3, 6, 8, 2],
    [2, 2, 7, 5, 2],
    [1, 2, 9, 9, 3],
  ]) {
    it(`${k}x${k} over ${H}x${W}`, () =>
      checkOp({
        name: `maxPool ${k} ${H}x${W}`,
        inputs: { x: { shape: [B, C, H, W] } },
        forward: (be, t) => maxPool2d(be, t.x, k),
        reference: (t) => maxPoolRef(t.x, B * C, H, W, k),
        referenceBackward: (d, t) => ({ x: maxPoolBackwardRef(d, t.x, B * C, H, W, k) }),
      }));
  }
});
