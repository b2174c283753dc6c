/**
 * The kernel suite: for every case, the float64 reference first (its outputs are the expected
 * values), then each implementation in turn: compile (first call), check its outputs against the
 * reference and which gpu.js kernel class ran, one more warm-up call, then benchmark.js.
 * On the machine's main modes (cpu, webasm, async) a wrong output or a silent gpu.js fallback
 * throws ValidationError and stops the run. On a mode that is itself under test (headlessgl:
 * `reportFailures`) a case that does not compile, falls back, validates wrong or runs past its
 * time limit becomes a failure row with the reason instead: never timed, never a result.
 */
import { Backend, PLACED_AFTER_CALLS, failureReason, type Mode } from '@digitlab/tensor';
import type { Inputs, KernelCase, Outputs, RefOutputs } from './cases.js';
import { measureOrOnce, singleCall, timeOnce, type MeasureOptions, type Timing } from './measure.js';
import { tf, unsupportedKernel, useTfBackend, type TfBackend } from './tfjs.js';
import { checkExecuted, relativeError, validate, ValidationError } from './validate.js';
import { runIsolated, type IsolateOptions } from './isolate.js';

// re-exported for run.ts, e2e.ts and the tests, which import the suite's checks from here
export { checkExecuted, relativeError, validate, ValidationError };

/** Who computes a case: the reference, an engine mode, or a TF.js backend. */
export type Impl = 'reference' | 'cpu' | 'webasm' | 'async' | 'headlessgl' | 'tfjs-cpu' | 'tfjs-wasm';
export const ENGINE_IMPLS: readonly Impl[] = ['cpu', 'webasm', 'async', 'headlessgl'];
export const ALL_IMPLS: readonly Impl[] = ['reference', 'cpu', 'webasm', 'async', 'tfjs-cpu', 'tfjs-wasm'];

/**
 * ok; unsupported (TF.js lacks the kernel on that backend); mismatch (TF.js's output differs
 * from the reference: timed, but flagged). The engine's main modes never get past ok: they throw.
 * A `reportFailures` mode's failures, none of them timed: error (compiling or running threw:
 * a GLSL compile error, a texture over the size limit, a crash), fallback (gpu.js ran a kernel
 * on another backend), wrong (differs from the reference), timeout (past the time limit).
 */
export type KernelStatus = 'ok' | 'unsupported' | 'mismatch' | EngineFailure;
export type EngineFailure = 'error' | 'fallback' | 'wrong' | 'timeout';
export const ENGINE_FAILURES: readonly EngineFailure[] = ['error', 'fallback', 'wrong', 'timeout'];

/** One row of the results: a case on one implementation. */
export interface KernelResult {
  readonly id: string;
  readonly model: string;
  readonly op: string;
  readonly pass: string;
  readonly shape: string;
  readonly impl: Impl;
  readonly status: KernelStatus;
  /** What actually executed: the gpu.js kernel class, TF.js backend, or "float64 loops". */
  readonly ran: string;
  readonly note?: string;
  /** Largest deviation from the reference over the outputs, relative to max(1, |reference|∞). */
  readonly maxError: number | null;
  readonly flops: number | null;
  readonly timing: Timing | null;
  /** flops / median time. */
  readonly gflops: number | null;
  /** Engine modes: milliseconds of the first call (compiling the case's kernels, and one run). */
  readonly firstCallMs?: number | null;
}

/** How the suite runs. */
export interface SuiteOptions {
  readonly impls: readonly Impl[];
  readonly measure: MeasureOptions;
  /** A call slower than this (ms) is timed once instead of sampled (TF.js cpu's filter gradient: a minute). */
  readonly slowCallMs: number;
  /** Worker threads of the async mode (default: all cores). */
  readonly poolSize?: number;
  /** Threads of TF.js's wasm backend where it can use them. */
  readonly tfThreads?: number;
  readonly log?: (line: string) => void;
  /**
   * Engine modes whose failures become rows instead of stopping the run (default: headlessgl,
   * which is WebGL 1 on a software renderer here and fails where the main modes do not).
   */
  readonly reportFailures?: readonly Impl[];
  /** Engine modes that run each case in a child process, under time limits (see isolate.ts). */
  readonly isolate?: IsolateOptions;
}

export const DEFAULT_REPORT_FAILURES: readonly Impl[] = ['headlessgl'];

function gflops(flops: number | null, t: Timing | null): number | null {
  return flops !== null && t !== null && t.medianMs > 0 ? flops / (t.medianMs * 1e6) : null;
}

/** A human line for the log. */
export function describe(r: KernelResult): string {
  const t = r.timing;
  const time = !t ? r.status : t.sampled ? `${t.medianMs.toPrecision(3)} ms (±${t.rme?.toFixed(1)}%, ${t.samples} samples)` : `${t.medianMs.toPrecision(3)} ms (1 call)`;
  const gf = r.gflops !== null ? `  ${r.gflops.toPrecision(3)} GFLOP/s` : '';
  return `${r.id.padEnd(28)} ${r.impl.padEnd(10)} ${time}${gf}  [${r.ran}${r.note ? `; ${r.note}` : ''}]`;
}

/** Runs every case on every implementation asked for. */
export async function runKernelSuite(cases: readonly KernelCase[], opts: SuiteOptions): Promise<KernelResult[]> {
  const log = opts.log ?? (() => {});
  const results: KernelResult[] = [];
  const refs = new Map<string, { outputs: RefOutputs; timing: Timing | null }>();
  const tfDescription = new Map<TfBackend, string>();

  for (const c of cases) {
    const x = c.inputs();
    const head = { id: c.id, model: c.model, op: c.op, pass: c.pass, shape: c.shape };
    let ref = refs.get(c.reference.key);
    if (!ref) {
      let outputs: RefOutputs = {};
      const first = await timeOnce(() => (outputs = c.reference.run(x)));
      // the reference is timed once per key; cases sharing it (conv grad input / grad weight) show the same row
      let timing: Timing | null = null;
      if (opts.impls.includes('reference')) {
        timing = first > opts.slowCallMs ? singleCall(first) : await measureOrOnce(`${c.id} reference`, () => c.reference.run(x), opts.measure, opts.slowCallMs);
      }
      ref = { outputs, timing };
      refs.set(c.reference.key, ref);
    }
    const expected = ref.outputs;
    if (opts.impls.includes('reference')) {
      const r: KernelResult = {
        ...head, impl: 'reference', status: 'ok', ran: 'float64 loops', note: c.reference.note,
        maxError: 0, flops: c.reference.flops, timing: ref.timing, gflops: gflops(c.reference.flops, ref.timing),
      };
      results.push(r);
      log(describe(r));
    }

    for (const impl of opts.impls) {
      if (impl === 'reference') continue;
      let r: KernelResult;
      if (impl.startsWith('tfjs-')) {
        if (!c.tfjs) continue;
        const backend = impl.slice(5) as TfBackend;
        if (!tfDescription.has(backend)) tfDescription.set(backend, await useTfBackend(backend, opts.tfThreads));
        else await useTfBackend(backend);
        const ran = tfDescription.get(backend)!;
        let run: ReturnType<NonNullable<KernelCase['tfjs']>> | null = null;
        let out: Outputs;
        try {
          run = c.tfjs(tf, x);
          out = run.outputs();
        } catch (e) {
          run?.dispose();
          const why = unsupportedKernel(e);
          if (!why) throw e;
          r = { ...head, impl, status: 'unsupported', ran, note: why, maxError: null, flops: c.flops, timing: null, gflops: null };
          results.push(r);
          log(describe(r));
          continue;
        }
        try {
          // a wrong TF.js kernel is a finding about TF.js, not a broken benchmark: flag it, keep going
          let status: KernelResult['status'] = 'ok';
          let note: string | undefined;
          let maxError: number;
          try {
            maxError = validate(c, impl, out, expected);
          } catch (e) {
            if (!(e instanceof ValidationError)) throw e;
            status = 'mismatch';
            note = `WRONG OUTPUT: ${e.message}`;
            maxError = Math.max(...c.outputs.map((n) => relativeError(out[n] ?? [], expected[n])));
            log(`WARNING ${e.message}`);
          }
          const tfRunner = run;
          const timing = await measureOrOnce(`${c.id} ${impl}`, () => tfRunner.run(), opts.measure, opts.slowCallMs);
          r = { ...head, impl, status, ran, note, maxError, flops: c.flops, timing, gflops: gflops(c.flops, timing) };
        } finally {
          run.dispose();
        }
      } else {
        const tolerant = (opts.reportFailures ?? DEFAULT_REPORT_FAILURES).includes(impl);
        const engineOpts = { measure: opts.measure, slowCallMs: opts.slowCallMs, poolSize: opts.poolSize, tolerant };
        r = opts.isolate?.impls.includes(impl)
          ? await runIsolated({ shapes: opts.isolate.shapes, id: c.id, impl, expected, ...engineOpts }, opts.isolate, c)
          : await runEngineCase(c, impl, x, expected, engineOpts);
      }
      results.push(r);
      log(describe(r));
    }
  }
  return results;
}

/** How one engine case runs (in this process or in a child). */
export interface EngineCaseOptions {
  readonly measure: MeasureOptions;
  readonly slowCallMs: number;
  readonly poolSize?: number;
  /** Failures become rows (status error/fallback/wrong) instead of throwing. */
  readonly tolerant: boolean;
}

/** The row of a case that failed on an engine mode: the reason, no timing. */
export function failureRow(c: Pick<KernelCase, 'id' | 'model' | 'op' | 'pass' | 'shape' | 'flops'>, impl: Impl, status: EngineFailure, note: string, extra: { ran?: string; maxError?: number | null; firstCallMs?: number | null } = {}): KernelResult {
  return {
    id: c.id, model: c.model, op: c.op, pass: c.pass, shape: c.shape, impl, status,
    ran: extra.ran ?? 'nothing timed', note, maxError: extra.maxError ?? null, flops: c.flops, timing: null, gflops: null, firstCallMs: extra.firstCallMs ?? null,
  };
}

/**
 * One case on one engine mode: first call (compiles), the kernel classes that ran, the outputs
 * against the reference, then timing and the kernel classes once more. `onCompiled` is told when
 * the first call is over (the child process reports it, so the parent's first-call limit stops).
 */
export async function runEngineCase(c: KernelCase, impl: Impl, x: Inputs, expected: RefOutputs, opts: EngineCaseOptions, onCompiled?: (ms: number) => void): Promise<KernelResult> {
  const mode = impl as Mode;
  let be: Backend;
  try {
    be = new Backend(mode, { poolSize: opts.poolSize });
  } catch (e) {
    // gpu.js refuses a mode it cannot run here (headlessgl without gl or a display)
    if (!opts.tolerant) throw e;
    return failureRow(c, impl, 'error', failureReason(messageOf(e)), { ran: 'nothing ran' });
  }
  const ranNow = (): string => [...be.executed].join(', ') || 'nothing ran';
  try {
    let call: () => Promise<Outputs>;
    let out: Outputs;
    const t0 = performance.now();
    try {
      call = await c.engine(be, x);
      out = await call();
    } catch (e) {
      if (!opts.tolerant) throw e;
      return failureRow(c, impl, 'error', failureReason(messageOf(e)), { ran: ranNow(), firstCallMs: performance.now() - t0 });
    }
    const firstCallMs = performance.now() - t0;
    onCompiled?.(firstCallMs);
    // the kernel class first: a fallback is a fallback even where its numbers are right
    let status: EngineFailure = 'fallback';
    let maxError: number;
    try {
      checkExecuted(c.id, mode, be.executed);
      status = 'wrong';
      maxError = validate(c, impl, out, expected);
    } catch (e) {
      if (!opts.tolerant || !(e instanceof ValidationError)) throw e;
      const err = Math.max(...c.outputs.map((n) => relativeError(out[n] ?? [], expected[n] ?? [])));
      return failureRow(c, impl, status, e.message, { ran: ranNow(), maxError: err, firstCallMs });
    }
    let timing: Timing;
    let ran: string;
    try {
      // async places each kernel by its first calls (and builds the calling thread's module for
      // those it moves): warm up until every kernel runs where it stays, and check those outputs too
      if (mode === 'async') {
        for (let n = 1; n < PLACED_AFTER_CALLS; n++) out = await call();
        maxError = Math.max(maxError, validate(c, impl, out, expected));
      }
      // the first call compiled the kernels; measureOrOnce's own first call is the warm-up
      timing = await measureOrOnce(`${c.id} ${impl}`, call, opts.measure, opts.slowCallMs);
      // once more after timing: a fallback mid-run would show here
      ran = checkExecuted(c.id, mode, be.executed);
    } catch (e) {
      if (!opts.tolerant) throw e;
      const fellBack = e instanceof ValidationError;
      return failureRow(c, impl, fellBack ? 'fallback' : 'error', fellBack ? (e as Error).message : failureReason(messageOf(e)), { ran: ranNow(), maxError, firstCallMs });
    }
    const note = mode === 'async' ? `worker pool of ${opts.poolSize ?? 'all cores'}` : undefined;
    return { id: c.id, model: c.model, op: c.op, pass: c.pass, shape: c.shape, impl, status: 'ok', ran, note, maxError, flops: c.flops, timing, gflops: gflops(c.flops, timing), firstCallMs };
  } finally {
    be.destroy();
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
