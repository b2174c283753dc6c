// The queue's measure of a model's speed: the median time per image over recent batches.
import { describe, expect, it } from 'vitest';
import { ServiceTime } from '../src/inference/service-time.js';

describe('ServiceTime', () => {
  it('knows nothing before a batch, then the time per image of its batches', () => {
    const time = new ServiceTime();
    expect(time.perImageMs).toBeUndefined();
    time.record(4, 8);
    expect(time.perImageMs).toBe(2);
    time.record(1, 4);
    expect(time.perImageMs).toBe(3);
  });

  it('is not thrown off by one stalled batch, and follows a lasting change', () => {
    const time = new ServiceTime();
    for (let i = 0; i < 10; i++) time.record(2, 2);
    time.record(1, 4000);
    expect(time.perImageMs).toBe(1);
    for (let i = 0; i < 8; i++) time.record(4, 20);
    expect(time.perImageMs).toBe(5);
  });

  it('ignores empty or impossible batches', () => {
    const time = new ServiceTime();
    time.record(0, 5);
    time.record(3, Number.NaN);
    expect(time.perImageMs).toBeUndefined();
  });
});
