import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { backward } from '../../src/tape.js';
import { Tensor } from '../../src/tensor.js';
import { availableModes, checkOp } from '../testing/check-op.js';
import { maxPool2d } from '../../src/ops/pool.js';
import { maxPoolBackwardRef, maxPoolRef } from '../../src/ops/pool.ref.js';
import { relu, reluBackwardRef, reluRef } from '../../src/ops/relu.js';

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

  // pooling a ReLU's output: its backward masks by the ReLU as it goes and the ReLU's own backward runs no kernel
  for (const [B, C, H, W, k] of [
    [2, 3, 6, 8, 2],
    [1, 2, 9, 9, 3],
  ]) {
    it(`${k}x${k} over a ReLU's ${H}x${W} output`, () =>
      checkOp({
        name: `relu, maxPool ${k} ${H}x${W}`,
        inputs: { x: { shape: [B, C, H, W] } },
        forward: async (be, t) => maxPool2d(be, await relu(be, t.x), k),
        reference: (t) => maxPoolRef(reluRef(t.x), B * C, H, W, k),
        referenceBackward: (d, t) => ({ x: reluBackwardRef(maxPoolBackwardRef(d, reluRef(t.x), B * C, H, W, k), t.x) }),
      }));
  }

  it("leaves no kernel to a pooled ReLU's backward, and gives the gradient of relu then pool exactly", async () => {
    const [B, C, H, W] = [2, 2, 8, 8];
    const data = Float32Array.from({ length: B * C * H * W }, (_, i) => Math.sin(i * 1.7) * (i % 5 === 0 ? 0 : 1));
    const dy = Float32Array.from({ length: (B * C * H * W) / 4 }, (_, i) => Math.cos(i) + 0.5);
    const want = reluBackwardRef(maxPoolBackwardRef(dy, reluRef(data), B * C, H, W, 2), data);
    for (const mode of availableModes()) {
      const be = new Backend(mode, { poolSize: 2 });
      try {
        const x = new Tensor([B, C, H, W], data.slice(), true);
        const y = await maxPool2d(be, await relu(be, x), 2);
        be.profile = new Map();
        await backward(y, dy);
        expect([...be.profile.keys()], mode).toEqual(['max_pool_backward']);
        // a cell that is not its window's maximum gets 0 · dy, which is -0 for a negative dy: compare values
        expect(Array.from(x.grad!, (v) => v + 0), mode).toEqual(Array.from(want));
      } finally {
        be.destroy();
      }
    }
  });
});
