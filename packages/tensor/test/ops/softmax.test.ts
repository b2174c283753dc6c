import { describe, expect, it } from 'vitest';
import { checkOp, type OpCase } from '../testing/check-op.js';
import { softmax } from '../../src/ops/softmax.js';
import { softmaxBackwardRef, softmaxRef } from '../../src/ops/softmax.ref.js';

function softmaxCase(name: string, shape: number[], values?: number[], fdSamples?: number): OpCase {
  const N = shape[shape.length - 1];
  const R = shape.reduce((a, b) => a * b, 1) / N;
  return {
    name,
    inputs: { x: { shape, values } },
    forward: (be, t) => softmax(be, t.x),
    reference: (t) => softmaxRef(t.x, R, N),
    referenceBackward: (dy, t) => ({ x: softmaxBackwardRef(dy, t.x, R, N) }),
    fdSamples,
  };
}

describe('softmax', () => {
  it('rows of 5 over [2, 3, 5]', async () => {
    await checkOp(softmaxCase('softmax [2,3,5]', [2, 3, 5]));
  });

  it('large logits do not overflow (max subtracted) and far-below ones underflow cleanly', async () => {
    await checkOp(softmaxCase('softmax extremes', [2, 4], [80, 79, 70, -30, -100, -101, -200, -100.5]));
  });

  it('N = 1200 is not cut at loopMaxIterations', async () => {
    // a spike past index 1000 in each row carries ~20% of the mass, so a cut loop cannot pass
    const values = Array.from({ length: 2400 }, (_, i) => Math.sin(i * 0.37));
    values[1150] = 6;
    values[1200 + 1199] = 6;
    const report = await checkOp(softmaxCase('softmax N=1200', [2, 1200], values, 8));
    expect(report['webasm:forward']).toBeLessThan(1e-4);
    expect(report['async:dx']).toBeLessThan(1e-4);
  });
});
