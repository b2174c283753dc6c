import { describe, expect, it } from 'vitest';
import { Backend, FUSED_MULTIPLY_ADD } from '../src/backend.js';

/*
 * patches/gpu.js@2.24.1.patch: with the fusedMultiplyAdd kernel setting, webasm compiles a vector
 * `s += a * b` as one f32x4.relaxed_madd. Backend turns it on where FUSED_MULTIPLY_ADD (its probe)
 * says the runtime validates relaxed SIMD and fuses. a = b = 1 + 2^-12, s = -(1 + 2^-11): the
 * product rounds to 1 + 2^-11 on its own, so a separate multiply and add give 0, a fused one 2^-24.
 */
const A = 1 + 2 ** -12;
const S = -(1 + 2 ** -11);
const SOURCE = `function(X) {
  let s = X[this.thread.x + 8];
  s += X[this.thread.x] * X[this.thread.x + 4];
  return s;
}`;
const X = Float32Array.from([A, A, A, A, A, A, A, A, S, S, S, S]);

async function run(fusedMultiplyAdd: boolean, mode: 'webasm' | 'async' = 'webasm'): Promise<Float32Array> {
  const be = new Backend(mode, { fusedMultiplyAdd, poolSize: 2 });
  try {
    expect(be.fusedMultiplyAdd).toBe(fusedMultiplyAdd);
    return await be.run({ name: 'madd', source: SOURCE, output: [4] }, [X]);
  } finally {
    be.destroy();
  }
}

describe('fused multiply-add (relaxed SIMD)', () => {
  it('off: a multiply and an add, each rounded', async () => {
    expect([...(await run(false))]).toEqual([0, 0, 0, 0]);
  });

  it.runIf(FUSED_MULTIPLY_ADD)('on (this runtime fuses): one rounding, on the calling thread and the workers alike', async () => {
    expect([...(await run(true))]).toEqual([2 ** -24, 2 ** -24, 2 ** -24, 2 ** -24]);
    expect([...(await run(true, 'async'))]).toEqual([2 ** -24, 2 ** -24, 2 ** -24, 2 ** -24]);
  });

  it.runIf(!FUSED_MULTIPLY_ADD)('asking for it where the runtime cannot fuse is an error that says what is needed', () => {
    expect(() => new Backend('webasm', { fusedMultiplyAdd: true })).toThrow(/needs a runtime that validates relaxed SIMD/);
  });

  it('is on by default exactly where the probe says so (unless DIGITLAB_FMA=0), and never on the other modes', () => {
    const be = new Backend('webasm');
    const cpu = new Backend('cpu', { fusedMultiplyAdd: FUSED_MULTIPLY_ADD });
    try {
      expect(be.fusedMultiplyAdd).toBe(FUSED_MULTIPLY_ADD && process.env.DIGITLAB_FMA !== '0');
      expect(cpu.fusedMultiplyAdd).toBe(false);
    } finally {
      be.destroy();
      cpu.destroy();
    }
  });
});
