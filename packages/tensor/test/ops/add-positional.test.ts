import { describe, it } from 'vitest';
import { checkOp } from '../testing/check-op.js';
import { addPositional } from '../../src/ops/add-positional.js';
import { addPositionalBackwardRef, addPositionalRef } from '../../src/ops/add-positional.ref.js';

describe('addPositional', () => {
  for (const [B, T, D] of [
    [3, 5, 3],
    [2, 17, 8],
    [131, 2, 2],
  ]) {
    it(`x [${B},${T},${D}]`, async () => {
      await checkOp({
        name: `addPositional [${B},${T},${D}]`,
        inputs: { x: { shape: [B, T, D] }, pos: { shape: [T, D] } },
        forward: (be, t) => addPositional(be, t.x, t.pos),
        reference: (t) => addPositionalRef(t.x, t.pos, B, T * D),
        referenceBackward: (dy) => {
          const r = addPositionalBackwardRef(dy, B, T * D);
          return { x: r.dx, pos: r.dpos };
        },
        fdSamples: 12,
      });
    });
  }
});
