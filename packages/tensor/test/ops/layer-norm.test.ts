import { describe, expect, it } from 'vitest';
import { checkOp, type OpCase } from '../testing/check-op.js';
import { layerNorm } from '../../src/ops/layer-norm.js';
import { layerNormBackwardRef, layerNormRef } from '../../src/ops/layer-norm.ref.js';

function layerNormCase(name: string, shape: number[], fdSamples?: number): OpCase {
  const D = shape[shape.length - 1];
  const R = shape.reduce((a, b) => a * b, 1) / D;
  return {
    name,
    inputs: { x: { shape }, gamma: { shape: [D] }, beta: { shape: [D] } },
    forward: (be, t) => layerNorm(be, t.x, t.gamma, t.beta),
    reference: (t) => layerNormRef(t.x, t.gamma, t.beta, R, D),
    referenceBackward: (dy, t) => {
      const r = layerNormBackwardRef(dy, t.x, t.gamma, R, D);
      return { x: r.dx, gamma: r.dgamma, beta: r.dbeta };
    },
    fdSamples,
  };
}

describe('layerNorm', () => {
  it('tokens [B, T, D] with D not a multiple of 4', async () => {
    await checkOp(layerNormCase('layerNorm [2,3,5]', [2, 3, 5]));
  });

  it('2-D rows, D a multiple of 4', async () => {
    await checkOp(layerNormCase('layerNorm [6,8]', [6, 8]));
  });

  it('D = 1100 is not cut at loopMaxIterations', async () => {
    const report = await checkOp(layerNormCase('layerNorm D=1100', [3, 1100], 8));
    expect(report['webasm:forward']).toBeLessThan(1e-4);
    expect(report['webasm:dx']).toBeLessThan(1e-4);
  });

  it('parameter gradients summed over more than 1000 rows', async () => {
    await checkOp(layerNormCase('layerNorm R=1030', [1030, 4], 8));
  });
});
