import { describe, it } from 'vitest';
import { checkOp } from '../testing/check-op.js';
import { prependToken } from '../../src/ops/prepend-token.js';
import { prependTokenBackwardRef, prependTokenRef } from '../../src/ops/prepend-token.ref.js';

describe('prependToken', () => {
  for (const [B, T, D] of [
    [3, 4, 5],
    [2, 16, 8],
  ]) {
    it(`x [${B},${T},${D}]`, async () => {
      await checkOp({
        name: `prependToken [${B},${T},${D}]`,
        inputs: { x: { shape: [B, T, D] }, token: { shape: [D] } },
        forward: (be, t) => prependToken(be, t.x, t.token),
        reference: (t) => prependTokenRef(t.x, t.token, B, T, D),
        referenceBackward: (dy) => {
          const r = prependTokenBackwardRef(dy, B, T, D);
          return { x: r.dx, token: r.dtoken };
        },
      });
    });
  }

  it('token gradient summed over a batch longer than the unrolling limit', async () => {
    const [B, T, D] = [130, 2, 4];
    await checkOp({
      name: 'prependToken B=130',
      inputs: { x: { shape: [B, T, D] }, token: { shape: [D] } },
      forward: (be, t) => prependToken(be, t.x, t.token),
      reference: (t) => prependTokenRef(t.x, t.token, B, T, D),
      referenceBackward: (dy) => {
        const r = prependTokenBackwardRef(dy, B, T, D);
        return { x: r.dx, token: r.dtoken };
      },
      fdSamples: 8,
    });
  });
});
