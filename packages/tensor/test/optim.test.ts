import { describe, expect, it } from 'vitest';
import { Adam, Sgd } from '../src/optim.js';
import { Tensor } from '../src/tensor.js';

describe('optimizers', () => {
  it('Adam minimises a quadratic and its first step has size lr', () => {
    const w = Tensor.from([2], [3, -2], true);
    const opt = new Adam([w], { lr: 0.1 });
    w.grad = Float32Array.from([2 * 3, 2 * -2]);
    opt.step();
    expect(w.data[0]).toBeCloseTo(2.9, 5);
    expect(w.data[1]).toBeCloseTo(-1.9, 5);
    for (let i = 0; i < 300; i++) {
      w.grad = Float32Array.from([2 * w.data[0], 2 * w.data[1]]);
      opt.step();
    }
    expect(Math.abs(w.data[0])).toBeLessThan(0.05);
    expect(Math.abs(w.data[1])).toBeLessThan(0.05);
  });

  it('AdamW decays weights but not the ones excluded', () => {
    const w = Tensor.from([1], [1], true);
    const b = Tensor.from([1], [1], true);
    const opt = new Adam([w, b], { lr: 0.1, weightDecay: 0.5, noDecay: new Set([b]) });
    w.grad = new Float32Array([0]);
    b.grad = new Float32Array([0]);
    opt.step();
    expect(w.data[0]).toBeCloseTo(0.95, 6);
    expect(b.data[0]).toBe(1);
  });

  it('state round-trips so a resumed run continues identically', () => {
    const run = (split: boolean) => {
      const w = Tensor.from([1], [5], true);
      let opt = new Adam([w], { lr: 0.05 });
      for (let i = 0; i < 20; i++) {
        if (split && i === 10) {
          const s = opt.state();
          const copy = { step: s.step, slots: s.slots.map((l) => l.map((a) => a.slice())) };
          opt = new Adam([w], { lr: 0.05 });
          opt.loadState(copy);
        }
        w.grad = new Float32Array([2 * w.data[0]]);
        opt.step();
      }
      return w.data[0];
    };
    expect(run(true)).toBe(run(false));
  });

  it('SGD with momentum', () => {
    const w = Tensor.from([1], [1], true);
    const opt = new Sgd([w], { lr: 0.1, momentum: 0.9 });
    w.grad = new Float32Array([1]);
    opt.step();
    w.grad = new Float32Array([1]);
    opt.step();
    expect(w.data[0]).toBeCloseTo(1 - 0.1 - 0.19, 6);
  });
});
