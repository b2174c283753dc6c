import { describe, expect, it } from 'vitest';
import { Backend, EXPECTED_KERNEL, type Mode } from '../src/backend.js';

/*
 * patches/gpu.js@2.24.1.patch: a kernel may return Array(8) on webasm, async and cpu (upstream
 * stops at Array(4)), eight values per cell stored interleaved. These tests hold every component
 * of every cell to what the source computes, on the SIMD quads and on the scalar tail of a row
 * whose width is not a multiple of 4, under a lane-varying branch, and on the worker threads.
 */

const W = 4103; // >= 4096 cells, so async runs it on its threads; 4103 % 4 = 3 cells on the scalar path
const X = Float32Array.from({ length: W }, (_, i) => (i % 97) - 48);

/** Component c of cell (x, y) as the kernels below compute it. */
function expected(x: number, y: number, c: number, branch: boolean): number {
  const v = X[x] + 1000 * y;
  if (branch && X[x] < 0) return -c;
  return c === 7 ? v * 2 : v + c;
}

const SOURCES = {
  straight: `function(A) {
  const v = A[this.thread.x] + 1000 * this.thread.y;
  return [v, v + 1, v + 2, v + 3, v + 4, v + 5, v + 6, v * 2];
}`,
  // lanes of one quad take different returns: the masked store keeps each lane's own
  branch: `function(A) {
  const v = A[this.thread.x] + 1000 * this.thread.y;
  if (A[this.thread.x] < 0) {
    return [0, -1, -2, -3, -4, -5, -6, -7];
  }
  return [v, v + 1, v + 2, v + 3, v + 4, v + 5, v + 6, v * 2];
}`,
};

describe('Array(8) kernels (patched gpu.js)', () => {
  for (const mode of ['webasm', 'async', 'cpu'] as Mode[]) {
    for (const [name, source] of Object.entries(SOURCES)) {
      it(`${mode}: ${name}, eight values per cell, interleaved, on a ${W}x2 grid`, async () => {
        const be = new Backend(mode, { poolSize: 2 });
        try {
          const out = await be.run({ name: `array8_${name}`, source, output: [W, 2], components: 8 }, [X]);
          expect([...be.executed]).toEqual([EXPECTED_KERNEL[mode]]);
          expect(out.length).toBe(W * 2 * 8);
          let bad = 0;
          for (let y = 0; y < 2; y++)
            for (let x = 0; x < W; x++)
              for (let c = 0; c < 8; c++) if (out[(y * W + x) * 8 + c] !== expected(x, y, c, name === 'branch')) bad++;
          expect(bad).toBe(0);
        } finally {
          be.destroy();
        }
      });
    }
  }

  it('still refuses a return type the backend cannot store (Array(5)), instead of storing garbage', async () => {
    const be = new Backend('webasm');
    try {
      const source = 'function(A) { const v = A[this.thread.x]; return [v, v, v, v, v]; }';
      await expect(be.run({ name: 'array5', source, output: [8], components: 5 as 4 }, [X])).rejects.toThrow();
    } finally {
      be.destroy();
    }
  });
});
