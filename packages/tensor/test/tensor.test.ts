import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor.js';

describe('Tensor.accumulateGrad', () => {
  it('keeps the first gradient without a copy, and copies it before adding the next', () => {
    const a = new Tensor([3], undefined, true);
    const b = new Tensor([3], undefined, true);
    const shared = Float32Array.from([1, 2, 3]);
    // one gradient handed to two inputs, as a residual add's backward does
    a.accumulateGrad(shared);
    b.accumulateGrad(shared);
    expect(a.grad).toBe(shared);
    a.accumulateGrad(Float32Array.from([10, 10, 10]));
    expect(Array.from(a.grad!)).toEqual([11, 12, 13]);
    expect(Array.from(b.grad!)).toEqual([1, 2, 3]);
    expect(Array.from(shared)).toEqual([1, 2, 3]);
    b.accumulateGrad(Float32Array.from([1, 1, 1]));
    b.accumulateGrad(Float32Array.from([1, 1, 1]));
    expect(Array.from(b.grad!)).toEqual([3, 4, 5]);
    expect(Array.from(shared)).toEqual([1, 2, 3]);
  });

  it('rejects a gradient of the wrong length', () => {
    expect(() => new Tensor([2, 2]).accumulateGrad(new Float32Array(3))).toThrow(/3 values/);
  });
});
