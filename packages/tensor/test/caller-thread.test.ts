import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Backend, type KernelSpec } from '../src/backend.js';

/*
 * patches/gpu.js@2.24.1.patch, the `callerThread` setting: the calling thread and the pool's
 * workers, parked on Atomics.wait over a shared control block, claim chunks of a threaded webasm
 * run in turn; no message crosses per call. These tests hold it to the single-threaded results
 * bit for bit and check the pool's bookkeeping: the chunks, workers taking part, new kernels
 * reaching parked workers, freed kernels, a failing worker, and shutdown.
 */

interface ParkedPool {
  readonly parked: boolean;
  readonly size: number;
  readonly workers: readonly { handle: NodeJS.EventEmitter & { threadId: number } }[];
  readonly lastDispatch: { chunk: number; chunks: number; workerChunks: number } | null;
  readonly dispatchCount: number;
  runParked(entry: object, cells: number, seed: number, runCaller: (start: number, end: number) => void): void;
}

function inner(be: Backend, spec: KernelSpec, args: readonly Float32Array[]): { _pool: ParkedPool | null; _lastRunPath: string } {
  return (be.kernelFor(spec, args).run as unknown as { kernel: { _pool: ParkedPool | null; _lastRunPath: string } }).kernel;
}

const rows = (w: number, h: number): Float32Array => Float32Array.from({ length: w * h }, (_, i) => Math.sin(i) * 3);

/** A kernel whose every cell mixes its neighbours: a range computed twice, or not at all, shows. */
function stencil(w: number, h: number): KernelSpec {
  const n = w * h;
  return {
    name: 'stencil',
    source: `function(A) {
  const i = this.thread.y * ${w} + this.thread.x;
  return A[i] * 1.5 - A[Math.min(i + 1, ${n - 1})] * 0.25 + A[Math.max(i - 1, 0)] / 3;
}`,
    output: [w, h],
  };
}

async function webasmResult(spec: KernelSpec, args: readonly Float32Array[]): Promise<Float32Array> {
  const be = new Backend('webasm');
  try {
    return await be.run(spec, args);
  } finally {
    be.destroy();
  }
}

describe('the calling thread and parked workers (the gpu.js patch)', () => {
  it('splits a run into chunks for the calling thread and a parked worker, bit-identical to one thread', async () => {
    // a SIMD row width, a scalar one (x not a multiple of 4) and a cell count that is not either
    for (const [w, h] of [[128, 64], [67, 123], [4098, 1]] as const) {
      const spec = stencil(w, h);
      const a = rows(w, h);
      const want = await webasmResult(spec, [a]);
      const be = new Backend('async', { poolSize: 2, threadsMinMs: 0 });
      try {
        for (let call = 0; call < 5; call++) expect(await be.run(spec, [a]), `${w}x${h} call ${call}`).toEqual(want);
        const k = inner(be, spec, [a]);
        expect(k._lastRunPath).toBe('threaded');
        const pool = k._pool!;
        expect(pool.parked).toBe(true);
        expect(pool.workers.length).toBe(1); // two threads: the caller and one worker
        const { chunk, chunks } = pool.lastDispatch!;
        expect(chunk % 4).toBe(0); // SIMD quads never straddle two chunks
        expect(chunks).toBe(Math.ceil((w * h) / chunk));
      } finally {
        be.destroy();
      }
    }
  });

  it('hands parked workers new kernels and drops freed ones, every result still exact', async () => {
    // maxKernels 1: each call of the other kernel frees one and compiles one, so the worker is
    // mailed a setup and a release per call while it stays parked
    const be = new Backend('async', { poolSize: 2, threadsMinMs: 0, maxKernels: 1 });
    try {
      const specs = [stencil(96, 64), stencil(64, 96)];
      const a = rows(96, 64);
      const want = await Promise.all(specs.map((s) => webasmResult(s, [a])));
      for (let call = 0; call < 12; call++) expect(await be.run(specs[call % 2], [a]), `call ${call}`).toEqual(want[call % 2]);
    } finally {
      be.destroy();
    }
  });

  it('has the parked worker compute part of a long run', async () => {
    const [w, h] = [128, 128];
    const spec: KernelSpec = {
      name: 'slow',
      source: `function(A) { let s = 0; for (let k = 0; k < 64; k++) s += A[(this.thread.y * ${w} + this.thread.x + k) % ${w * h}] * 0.5; return s; }`,
      output: [w, h],
    };
    const a = rows(w, h);
    const want = await webasmResult(spec, [a]);
    const be = new Backend('async', { poolSize: 2, threadsMinMs: 0 });
    try {
      let byWorker = 0;
      for (let call = 0; call < 6; call++) {
        expect(await be.run(spec, [a])).toEqual(want);
        byWorker += inner(be, spec, [a])._pool!.lastDispatch!.workerChunks;
      }
      expect(byWorker).toBeGreaterThan(0);
    } finally {
      be.destroy();
    }
  });

  it("reports a worker's failure as an error and keeps serving", async () => {
    const be = new Backend('async', { poolSize: 2, threadsMinMs: 0 });
    try {
      const spec = stencil(128, 64);
      const a = rows(128, 64);
      const want = await be.run(spec, [a]);
      const pool = inner(be, spec, [a])._pool!;
      // a module whose run(start, end, seed) traps (`unreachable`), over a shared memory
      const bytes = Uint8Array.from([
        ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
        ...[0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00],
        ...[0x02, 0x10, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x01],
        ...[0x03, 0x02, 0x01, 0x00],
        ...[0x07, 0x07, 0x01, 0x03, 0x72, 0x75, 0x6e, 0x00, 0x00],
        ...[0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b],
      ]);
      const entry = { id: 2 ** 30, module: new WebAssembly.Module(bytes), memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), mathImports: [], sizeX: 8 };
      // the caller claims chunks only after the worker has taken one: then that one traps
      let sawWorker = false;
      const waitForWorker = (): void => {
        const t0 = Date.now();
        while (Date.now() - t0 < 10_000) {
          const ctl = (pool as unknown as { control: Int32Array }).control;
          if (Atomics.load(ctl, 9) > 0 || Atomics.load(ctl, 7) >= 0) {
            sawWorker = true;
            return;
          }
        }
      };
      let first = true;
      expect(() =>
        pool.runParked(entry, 64 * 1024, 0, () => {
          if (first) waitForWorker();
          first = false;
        }),
      ).toThrow(/worker failed running its chunk/);
      expect(sawWorker).toBe(true);
      expect(await be.run(spec, [a])).toEqual(want);
    } finally {
      be.destroy();
    }
  });

  it('ends its workers when the backend is destroyed', async () => {
    const be = new Backend('async', { poolSize: 2, threadsMinMs: 0 });
    const spec = stencil(128, 64);
    const a = rows(128, 64);
    await be.run(spec, [a]);
    const handles = inner(be, spec, [a])._pool!.workers.map((w) => w.handle);
    expect(handles.length).toBe(1);
    const exits = handles.map((h) => once(h, 'exit'));
    be.destroy();
    await Promise.all(exits);
  });
});
