import { describe, expect, it } from 'vitest';
import { checkOp } from '../testing/check-op.js';
import { matmul } from '../../src/ops/matmul.js';
import { matmulBackwardRef, matmulRef } from '../../src/ops/matmul.ref.js';

describe('matmul', () => {
  it('2-D with a shared weight, M not a multiple of 4', async () => {
    const [M, K, N] = [7, 5, 6];
    await checkOp({
      name: 'matmul 2-D',
      inputs: { a: { shape: [M, K] }, b: { shape: [K, N] } },
      forward: (be, x) => matmul(be, x.a, x.b),
      reference: (x) => matmulRef(x.a, x.b, 1, M, K, N),
      referenceBackward: (d, x) => {
        const r = matmulBackwardRef(d, x.a, x.b, 1, M, K, N);
        return { a: r.da, b: r.db };
      },
    });
  });

  it('batched A with shared B (a dense layer over tokens)', async () => {
    const [Z, M, K, N] = [3, 5, 4, 9];
    await checkOp({
      name: 'matmul batched/shared',
      inputs: { a: { shape: [Z, M, K] }, b: { shape: [K, N] } },
      forward: (be, x) => matmul(be, x.a, x.b),
      reference: (x) => matmulRef(x.a, x.b, Z, M, K, N, false),
      referenceBackward: (d, x) => {
        const r = matmulBackwardRef(d, x.a, x.b, Z, M, K, N, false);
        return { a: r.da, b: r.db };
      },
    });
  });

  it('batched A and B', async () => {
    const [Z, M, K, N] = [2, 6, 3, 5];
    await checkOp({
      name: 'matmul batched',
      inputs: { a: { shape: [Z, M, K] }, b: { shape: [Z, K, N] } },
      forward: (be, x) => matmul(be, x.a, x.b),
      reference: (x) => matmulRef(x.a, x.b, Z, M, K, N, true),
      referenceBackward: (d, x) => {
        const r = matmulBackwardRef(d, x.a, x.b, Z, M, K, N, true);
        return { a: r.da, b: r.db };
      },
    });
  });

  it('a reduction longer than 1000 (3136-wide dense layer) is not cut at loopMaxIterations', async () => {
    const [M, K, N] = [4, 3136, 8];
    const report = await checkOp({
      name: 'matmul K=3136',
      inputs: { a: { shape: [M, K] }, b: { shape: [K, N] } },
      forward: (be, x) => matmul(be, x.a, x.b),
      reference: (x) => matmulRef(x.a, x.b, 1, M, K, N),
      referenceBackward: (d, x) => {
        const r = matmulBackwardRef(d, x.a, x.b, 1, M, K, N);
        return { a: r.da, b: r.db };
      },
      fdSamples: 8,
    });
    expect(report['webasm:forward']).toBeLessThan(1e-4);
  });
});
