import gpujs from 'gpu.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Backend } from '../src/backend.js';

/*
 * patches/gpu.js@2.24.1.patch: on webasm, a read whose flat index is (uniform integer) + thread.x
 * loads its four SIMD lanes with one v128.load instead of four lane-by-lane loads, and falls back
 * to the clamped gather when the four neighbours are not all inside the array. These tests hold
 * the patched reads to what the unpatched gather returned: every lane x[clamp(i, 0, n - 1)].
 */

interface FunctionNodeProto {
  vContiguousTerms(...args: unknown[]): unknown[] | null;
}
const proto = (gpujs as unknown as { WebAssemblyFunctionNode: { prototype: FunctionNodeProto } }).WebAssemblyFunctionNode.prototype;
const original = proto.vContiguousTerms;

/** Counts the reads the patch turned into contiguous loads while compiling. */
function spyContiguous(): { hits: number } {
  const seen = { hits: 0 };
  proto.vContiguousTerms = function (this: unknown, ...args: unknown[]): unknown[] | null {
    const r = original.apply(this, args);
    if (r) seen.hits++;
    return r;
  };
  return seen;
}

const N = 37;
const X = Float32Array.from({ length: N }, (_, i) => 100 + i);
const clamp = (i: number): number => Math.min(Math.max(i, 0), N - 1);

async function runBoth(source: string, output: [number, number], expected: (x: number, y: number) => number): Promise<number> {
  const seen = spyContiguous();
  for (const mode of ['webasm', 'async'] as const) {
    const be = new Backend(mode, { poolSize: 2 });
    try {
      const out = await be.run({ name: 'read', source, output }, [X]);
      expect([...be.executed]).toEqual(['WebAssemblyKernel']);
      for (let y = 0; y < output[1]; y++)
        for (let x = 0; x < output[0]; x++) expect(out[y * output[0] + x], `${mode} cell (${x}, ${y})`).toBe(expected(x, y));
    } finally {
      be.destroy();
    }
  }
  return seen.hits;
}

describe('contiguous lane loads (the gpu.js patch)', () => {
  afterEach(() => {
    proto.vContiguousTerms = original;
  });

  it('has the patch installed', () => {
    expect(typeof original).toBe('function');
  });

  it('reads uniform + thread.x as one vector, exact inside the array and clamped lane by lane across both ends', async () => {
    // row y starts at 6y − 5: the first rows begin before the array, the last ones run past its end
    const hits = await runBoth('function(X) { return X[this.thread.y * 6 - 5 + this.thread.x]; }', [8, 8], (x, y) => X[clamp(6 * y - 5 + x)]);
    expect(hits).toBeGreaterThan(0);
  });

  it('takes thread.x in any position of the sum, and under a lane-varying branch', async () => {
    const hits = await runBoth(
      'function(X) { let v = -1; if (this.thread.x % 3 !== 1) { v = X[3 + this.thread.x + this.thread.y * 5]; } return v; }',
      [12, 6],
      (x, y) => (x % 3 !== 1 ? X[clamp(3 + x + 5 * y)] : -1),
    );
    expect(hits).toBeGreaterThan(0);
  });

  it('leaves strided, scaled and fractional indices to the gather', async () => {
    expect(await runBoth('function(X) { return X[this.thread.x * 2 + this.thread.y]; }', [8, 4], (x, y) => X[clamp(2 * x + y)])).toBe(0);
    expect(await runBoth('function(X) { return X[this.thread.x + this.thread.x]; }', [8, 1], (x) => X[clamp(2 * x)])).toBe(0);
    // −1.5 + x truncates to −1, 0, 0, 1: not four neighbours, so the index must not count as contiguous
    expect(await runBoth('function(X) { return X[this.thread.y * 1.5 - 1.5 + this.thread.x]; }', [8, 3], (x, y) => X[clamp(Math.trunc(1.5 * y - 1.5 + x))])).toBe(0);
  });
});
