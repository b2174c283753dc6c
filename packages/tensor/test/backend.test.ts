import gpujs from 'gpu.js';
import { describe, expect, it } from 'vitest';
import { Backend, PLACED_AFTER_CALLS, PLACEMENT_TRIALS, placeByTrials, specFor } from '../src/backend.js';

describe('Backend', () => {
  it("runs 'async' on WebAssembly threads even where gpu.js's own async mode would take headlessgl (gl built, a display)", async () => {
    // gpu.js's mode 'async' takes the first backend that works, and headlessgl comes before webasm;
    // pretend it works, as it does under Xvfb once scripts/build-headlessgl.sh has run
    const own = Object.getOwnPropertyDescriptor(gpujs.HeadlessGLKernel, 'isSupported');
    if (!own) throw new Error('gpu.js changed: HeadlessGLKernel.isSupported is no longer its own getter');
    Object.defineProperty(gpujs.HeadlessGLKernel, 'isSupported', { get: () => true, configurable: true });
    const be = new Backend('async', { poolSize: 2 });
    try {
      const x = Float32Array.from({ length: 8192 }, (_, i) => i % 7);
      const out = await be.run({ name: 'double', source: 'function(A) { return A[this.thread.x] * 2; }', output: [8192] }, [x]);
      expect([...be.executed]).toEqual(['WebAssemblyKernel']);
      expect(Array.from(out.subarray(0, 8))).toEqual([0, 2, 4, 6, 8, 10, 12, 0]);
    } finally {
      be.destroy();
      Object.defineProperty(gpujs.HeadlessGLKernel, 'isSupported', own);
    }
  });

  it('drops the parsed source of a webasm kernel after its first call (async: once placed, below), and the kernel keeps running', async () => {
    const be = new Backend('webasm');
    try {
      const spec = { name: 'axpy', source: 'function(A, B) { return A[this.thread.x] * 3 + B[this.thread.x]; }', output: [8192] };
      const a = Float32Array.from({ length: 8192 }, (_, i) => i % 5);
      const b = Float32Array.from({ length: 8192 }, (_, i) => i % 3);
      await be.run(spec, [a, b]);
      const inner = (be.kernelFor(spec, [a, b]).run as unknown as { kernel: { functionBuilder: unknown } }).kernel;
      expect(inner.functionBuilder).toBeNull();
      const again = await be.run(spec, [b, a]);
      expect(Array.from(again.subarray(0, 6))).toEqual([0, 4, 8, 3, 7, 6]);
      expect(be.cachedKernels).toBe(1);
    } finally {
      be.destroy();
    }
  });
});

describe('async kernel placement', () => {
  it('decides by the fastest trial call on the threads', () => {
    expect(placeByTrials([12, 30], 10)).toBe('threads');
    expect(placeByTrials([9.9, 30], 10)).toBe('caller');
    expect(placeByTrials([0.2, 0.5])).toBe('caller');
    expect(placeByTrials([0.4, 0.5])).toBe('threads');
  });

  it('moves a kernel to the calling thread or keeps it on the threads after its trials, with the same results throughout', async () => {
    const n = 8192; // gpu.js threads kernels of 4096+ cells
    const x = Float32Array.from({ length: n }, (_, i) => (i % 97) / 7);
    const spec = { name: 'scale', source: 'function(A) { return A[this.thread.x] * 3 + 1; }', output: [n] };
    const expected = Float32Array.from(x, (v) => Math.fround(Math.fround(v * 3) + 1));
    for (const [threadsMinMs, where] of [[Infinity, 'caller'], [0, 'threads']] as const) {
      const be = new Backend('async', { poolSize: 2, threadsMinMs });
      try {
        // compile, trials, the first call in its place (which builds the caller's module), then more
        for (let call = 1; call <= PLACED_AFTER_CALLS + 1; call++) {
          expect(await be.run(spec, [x]), `${where}, call ${call}`).toEqual(expected);
          if (call <= PLACEMENT_TRIALS + 1) expect(be.placements()).toEqual({ threads: 0, caller: 0 });
        }
        expect(be.placements()).toEqual(where === 'caller' ? { threads: 0, caller: 1 } : { threads: 1, caller: 0 });
        const inner = (be.kernelFor(spec, [x]).run as unknown as { kernel: { _moduleCache: Map<string, { shared: boolean }>; functionBuilder: unknown } }).kernel;
        // the side it left is freed (a kernel on the caller keeps no shared memory), and so is the compiler state
        expect([...inner._moduleCache.values()].map((e) => e.shared)).toEqual([where === 'threads']);
        expect(inner.functionBuilder).toBeNull();
        expect([...be.executed]).toEqual(['WebAssemblyKernel']);
      } finally {
        be.destroy();
      }
    }
  });

  it('runs every threaded kernel on one worker pool (gpu.js gives each kernel its own)', async () => {
    const be = new Backend('async', { poolSize: 2, threadsMinMs: 0 });
    try {
      const x = new Float32Array(8192).fill(1);
      const specs = [1, 2, 3].map((k) => ({ name: `times${k}`, source: `function(A) { return A[this.thread.x] * ${k}; }`, output: [8192] }));
      for (const spec of specs) expect((await be.run(spec, [x]))[8191]).toBe(Number(spec.name.slice(5)));
      const pools = new Set(specs.map((spec) => (be.kernelFor(spec, [x]).run as unknown as { kernel: { _pool: unknown } }).kernel._pool));
      expect(pools.size).toBe(1);
      expect([...pools][0]).toBeTruthy();
    } finally {
      be.destroy();
    }
  });

  it('places a kernel under 4096 cells on the calling thread at once (gpu.js never threads it)', async () => {
    const be = new Backend('async', { poolSize: 2 });
    try {
      const spec = { name: 'small', source: 'function(A) { return A[this.thread.x] + 1; }', output: [64] };
      const x = new Float32Array(64).fill(2);
      await be.run(spec, [x]);
      expect(Array.from(await be.run(spec, [x]))).toEqual(new Array(64).fill(3));
      expect(be.placements()).toEqual({ threads: 0, caller: 1 });
    } finally {
      be.destroy();
    }
  });
});

describe('kernel cache', () => {
  it('finds a compiled kernel by its spec object: a second call compiles nothing and never reads the source', async () => {
    const be = new Backend('webasm');
    try {
      let reads = 0;
      const source = 'function(A) { return A[this.thread.x] + 1; }';
      const spec = { name: 'inc', output: [8], get source() { reads++; return source; } };
      const x = new Float32Array(8).fill(1);
      await be.run(spec, [x]);
      const afterFirst = reads;
      for (let i = 0; i < 5; i++) expect(Array.from(await be.run(spec, [x]))).toEqual(new Array(8).fill(2));
      expect(be.compiled).toBe(1);
      expect(reads).toBe(afterFirst);
    } finally {
      be.destroy();
    }
  });

  it('never lets distinct specs collide: other sources, outputs, components or argument sizes compile apart, equal specs share', async () => {
    const be = new Backend('webasm');
    try {
      const src = (k: number) => `function(A) { return A[this.thread.x] * ${k}; }`;
      const x8 = Float32Array.from({ length: 8 }, (_, i) => i);
      const x16 = Float32Array.from({ length: 16 }, (_, i) => i);
      const a = { name: 'k', source: src(2), output: [8] };
      const b = { name: 'k', source: src(3), output: [8] };
      const c = { name: 'k', source: src(2), output: [4] };
      expect(Array.from(await be.run(a, [x8]))).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
      expect(Array.from(await be.run(b, [x8]))).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
      expect(Array.from(await be.run(c, [x8]))).toEqual([0, 2, 4, 6]);
      // the same spec with a longer argument reads past 8 only when compiled for 16
      expect(Array.from(await be.run(a, [x16]))).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
      expect(be.compiled).toBe(4);
      // a fresh object equal to a: served by a's kernel
      expect(Array.from(await be.run({ ...a }, [x8]))).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
      expect(be.compiled).toBe(4);
      const four = { name: 'k4', source: 'function(A) { return [A[this.thread.x], 1, 2, 3]; }', output: [2], components: 4 as const };
      const two = { name: 'k2', source: four.source.replace('[A[this.thread.x], 1, 2, 3]', '[A[this.thread.x], 1]'), output: [2], components: 2 as const };
      expect(Array.from(await be.run(four, [x8]))).toEqual([0, 1, 2, 3, 1, 1, 2, 3]);
      expect(Array.from(await be.run(two, [x8]))).toEqual([0, 1, 1, 1]);
      expect(be.compiled).toBe(6);
    } finally {
      be.destroy();
    }
  });

  it('holds at most maxKernels, freeing the least recently used, and recompiles an evicted one on demand', async () => {
    const be = new Backend('webasm', { maxKernels: 2 });
    try {
      const x = new Float32Array(4).fill(1);
      const specs = [1, 2, 3].map((k) => ({ name: `add${k}`, source: `function(A) { return A[this.thread.x] + ${k}; }`, output: [4] }));
      await be.run(specs[0], [x]);
      await be.run(specs[1], [x]);
      await be.run(specs[0], [x]); // specs[1] is now the least recent
      await be.run(specs[2], [x]);
      expect(be.cachedKernels).toBe(2);
      expect(be.compiled).toBe(3);
      await be.run(specs[0], [x]);
      expect(be.compiled).toBe(3);
      expect(Array.from(await be.run(specs[1], [x]))).toEqual([3, 3, 3, 3]);
      expect(be.compiled).toBe(4);
      expect(be.cachedKernels).toBe(2);
      expect(() => new Backend('webasm', { maxKernels: 0 })).toThrow(/maxKernels/);
    } finally {
      be.destroy();
    }
  });
});

describe('specFor', () => {
  it('builds a kernel spec once per distinct arguments and hands back the same object after', () => {
    let builds = 0;
    const build = (n: number, scale: number) => {
      builds++;
      return { name: 'scale', source: `function(A) { return A[this.thread.x] * ${scale}; }`, output: [n] };
    };
    const a = specFor(build, 8, 2);
    expect(specFor(build, 8, 2)).toBe(a);
    expect(specFor(build, 8, 3).source).toContain('* 3');
    expect(specFor(build, 16, 2).output).toEqual([16]);
    expect(builds).toBe(3);
  });

  it('keys objects and arrays by their shape as well as their numbers', () => {
    const build = (s: { a: readonly number[]; b: readonly number[] }) => ({ name: 'x', source: JSON.stringify(s), output: [1] });
    const one = specFor(build, { a: [1, 2], b: [3] });
    const other = specFor(build, { a: [1], b: [2, 3] });
    expect(other).not.toBe(one);
    expect(specFor(build, { a: [1, 2], b: [3] })).toBe(one);
    const flags = (n: number, relu: boolean) => ({ name: 'f', source: `${n}${relu}`, output: [n] });
    expect(specFor(flags, 4, true)).not.toBe(specFor(flags, 4, false));
  });
});
