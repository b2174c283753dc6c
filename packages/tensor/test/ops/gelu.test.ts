import { describe, it } from 'vitest';
import { checkOp } from '../testing/check-op.js';
import { gelu } from '../../src/ops/gelu.js';
import { geluBackwardRef, geluRef } from '../../src/ops/gelu.ref.js';

describe('gelu', () => {
  it('random inputs, length not a multiple of 4', async () => {
    await checkOp({
      name: 'gelu [3,7]',
      inputs: { x: { shape: [3, 7] } },
      forward: (be, t) => gelu(be, t.x),
      reference: (t) => geluRef(t.x),
      referenceBackward: (dy, t) => ({ x: geluBackwardRef(dy, t.x) }),
    });
  });

  it('large magnitudes saturate (exp clamped, no NaN) and tiny ones stay accurate', async () => {
    const values = [-60, -12, -5, -3, -1.5, -0.5, -1e-3, -1e-6, 0, 1e-6, 1e-3, 0.5, 1.5, 3, 5, 12, 60, 2.25, -2.25, 0.125];
    await checkOp({
      name: 'gelu extremes',
      inputs: { x: { shape: [values.length], values } },
      forward: (be, t) => gelu(be, t.x),
      reference: (t) => geluRef(t.x),
      referenceBackward: (dy, t) => ({ x: geluBackwardRef(dy, t.x) }),
    });
  });
});
