import { describe, expect, it } from 'vitest';
import { Backend, EXPECTED_KERNEL } from '../../src/backend.js';
import { availableModes } from '../testing/check-op.js';
import { EXP_MAX, EXP_MIN, EXP_TABLE, expCode, idiv, imin, imod, magicDivisor } from '../../src/ops/kernel-math.js';

describe('magicDivisor', () => {
  it('divides exactly below its bound and stays inside i32, or declines', () => {
    for (const n of [3, 5, 7, 9, 17, 25, 100, 641]) {
      for (const bound of [10, 1000, 70000, 1 << 20]) {
        const magic = magicDivisor(n, bound);
        if (!magic) continue;
        expect((bound - 1) * magic.m).toBeLessThan(2 ** 31);
        for (let x = 0; x < Math.min(bound, 200000); x++) expect(Math.floor((x * magic.m) / 2 ** magic.s)).toBe(Math.floor(x / n));
      }
    }
    expect(magicDivisor(3, 1024)).not.toBeNull();
    expect(magicDivisor(641, 1 << 30)).toBeNull();
  });
});

describe('kernel-math codegen', () => {
  for (const mode of availableModes()) {
    it(`inlined exp stays within 4e-7 relative over its whole range (${mode})`, async () => {
      const n = 4096;
      const x = Float32Array.from({ length: n }, (_, i) => EXP_MIN + ((EXP_MAX - EXP_MIN) * i) / (n - 1));
      const be = new Backend(mode, { poolSize: 2 });
      try {
        const y = await be.run({ name: 'exp_test', source: `function(X, ET) {\n  ${expCode('e', 'X[this.thread.x]')}\n  return e;\n}`, output: [n] }, [x, EXP_TABLE]);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i] - Math.exp(x[i])) / Math.exp(x[i]));
        expect(worst).toBeLessThan(4e-7);
        expect([...be.executed]).toEqual([EXPECTED_KERNEL[mode]]);
      } finally {
        be.destroy();
      }
    });

    it(`integer index helpers agree with floor/mod/min, shifts and divisions alike (${mode})`, async () => {
      const be = new Backend(mode, { poolSize: 2 });
      try {
        for (const [k, bound] of [[1, undefined], [3, undefined], [4, undefined], [7, undefined], [17, undefined], [3, 1024], [17, 1024], [25, 1024]] as const) {
          // with a bound, the division is a magic multiply and shift
          const source = `function(X) {\n  return X[${idiv('this.thread.x', k, bound)}] * 10000.0 + X[${imod('this.thread.x', k, bound)}] * 1000.0 + X[${imin('this.thread.x', 100)}];\n}`;
          // every value stays below 2^24, so f32 holds it exactly
          const n = 1024;
          const ids = Float32Array.from({ length: n }, (_, i) => i);
          const y = await be.run({ name: 'index_test', source, output: [n] }, [ids]);
          for (let i = 0; i < n; i++) expect(y[i]).toBe(Math.floor(i / k) * 1e4 + (i % k) * 1e3 + Math.min(i, 100));
        }
      } finally {
        be.destroy();
      }
    });
  }
});
