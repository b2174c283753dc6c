import { describe, expect, it } from 'vitest';
import { glSafeSource } from './backend.js';

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
