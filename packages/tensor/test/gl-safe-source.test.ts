import { describe, expect, it } from 'vitest';
import { glSafeSource, glTiledSpec } from '../src/backend.js';

/** Runs a kernel-like body as plain JavaScript with the given variables. */
function evaluate(body: string, vars: Record<string, number>): unknown {
  return new Function(...Object.keys(vars), body)(...Object.values(vars));
}

describe('glSafeSource', () => {
  it('writes every whole-number literal argument of Math.min and Math.max as a float expression of the same value', () => {
    const body = 'const w = Math.min(o + 1, 63) * 800; const y = Math.min(Math.max(iy - 2, 0), 11); const z = Math.max(-1, q); return [w, y, z, Math.max(s, 0), Math.min(a, b)];';
    const safe = glSafeSource(body);
    expect(safe).not.toMatch(/Math\.(min|max)\([^()]*,\s*-?\d+\)/);
    expect(safe).toContain('Math.min(o + 1, (63.5 - 0.5))');
    expect(safe).toContain('Math.max(iy - 2, (0.5 - 0.5))');
    expect(safe).toContain('Math.max((-0.5 - 0.5), q)');
    for (const vars of [
      { o: 62, iy: 1, q: -3, s: -2, a: 1, b: 2 },
      { o: 63, iy: 20, q: 5, s: 4, a: 3, b: -1 },
    ]) {
      expect(evaluate(safe, vars)).toEqual(evaluate(body, vars));
    }
  });

  it('leaves calls without literal arguments, other functions and float literals as written', () => {
    const body = 'return Math.min(a, b) + Math.floor(x / 3) + Math.max(y, 0.5) + f(2, 3);';
    expect(glSafeSource(body)).toBe(body);
  });
});

describe('glTiledSpec', () => {
  const spec = {
    name: 'softmax_forward_like',
    source: `function(X) {
  return X[this.thread.y * 17 + this.thread.x] * 2 + this.thread.y;
}`,
    output: [17, 8704],
  };

  /** Runs a kernel source as JavaScript over every thread of its output, row-major. */
  function runKernel(source: string, output: readonly number[], X: Float32Array): Float32Array {
    const fn = new Function(`return ${source}`)() as (this: { thread: { x: number; y: number } }, x: Float32Array) => number;
    const [w, h = 1] = output;
    const out = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = fn.call({ thread: { x, y } }, X);
    return out;
  }

  it('computes an output of more than GL_MAX_ROWS rows as one row of the same cells in the same order', () => {
    const tiled = glTiledSpec(spec);
    expect(tiled.output).toEqual([17 * 8704]);
    const X = Float32Array.from({ length: 17 * 8704 }, (_, i) => (i % 97) / 7);
    expect(runKernel(tiled.source, tiled.output, X)).toEqual(runKernel(spec.source, spec.output, X));
  });

  it('leaves outputs within the limit, and 3-D kernels, as they are', () => {
    expect(glTiledSpec({ ...spec, output: [17, 4096] })).toEqual({ ...spec, output: [17, 4096] });
    const threeD = { ...spec, source: spec.source.replace('this.thread.y', 'this.thread.z'), output: [17, 8704] };
    expect(glTiledSpec(threeD)).toBe(threeD);
  });
});
