/**
 * The browser bundle's entry: installs window.digitlabBench, which runs one kernel case on one
 * gpu.js mode through the engine's Backend, exactly as the Node suite does: the float64 reference
 * first, the first call compiles, its outputs are validated and the kernel classes checked, then
 * it is timed (warm-up excluded). The case table is the Node bench's own (bench/src/cases.ts).
 */
import { Backend } from '@digitlab/tensor';
import { kernelCases, type KernelCase, type Outputs, type RefOutputs } from '../src/cases.js';
import type { ModelShapes } from '../src/shapes.js';
import { checkExecuted, relativeError, validate, ValidationError } from '../src/validate.js';
import type { BrowserMode, CaseOutcome, CaseRequest, ModeProbe, PageApi } from './protocol.js';
import { sample } from './sampler.js';

/**
 * WebGL contexts lost since the page loaded. gpu.js does not watch for it: after a loss (Chromium's
 * GPU watchdog ends a shader compile that hangs the GPU thread too long) its kernels return zeros
 * without an error. The page watches every canvas that hands out a context, to say why.
 */
let contextsLost = 0;
const watched = new WeakSet<HTMLCanvasElement>();
const getContext = HTMLCanvasElement.prototype.getContext;
// the overloads of getContext cannot be restated one by one: forward whatever was asked
HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, ...args: unknown[]) {
  if (!watched.has(this)) {
    watched.add(this);
    this.addEventListener('webglcontextlost', () => contextsLost++);
  }
  return (getContext as (...a: unknown[]) => unknown).apply(this, args);
} as typeof getContext;

/** A first call longer than this may have tripped Chromium's GPU watchdog: wait for a context loss to show. */
const WATCHDOG_SUSPECT_MS = 5000;

let cases: { key: string; list: KernelCase[] } | null = null;
/** Reference outputs by reference key: cases sharing a reference (conv grads) compute it once. */
const references = new Map<string, RefOutputs>();

function caseById(shapes: ModelShapes, id: string): KernelCase {
  const key = JSON.stringify(shapes);
  if (cases?.key !== key) {
    cases = { key, list: kernelCases(shapes) };
    references.clear();
  }
  const c = cases.list.find((k) => k.id === id);
  if (!c) throw new Error(`no kernel case "${id}"`);
  return c;
}

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // gpu.js puts the whole generated shader into some errors: the first lines say what failed
  return m.split('\n').slice(0, 6).join(' ').slice(0, 600);
}

/** WebGPU's types are not in TypeScript's DOM lib; the little the probe reads of them. */
interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}
interface NavigatorGpu {
  readonly gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> };
}

async function probe(mode: BrowserMode): Promise<ModeProbe> {
  if (mode === 'cpu') return { mode, available: true, detail: 'JavaScript' };
  if (mode === 'webasm') {
    // an f32x4 SIMD function: gpu.js's webasm kernels need SIMD
    const simd = WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
    return { mode, available: simd, detail: simd ? 'WebAssembly with SIMD' : 'WebAssembly SIMD is not supported' };
  }
  if (mode === 'webgl2') {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return { mode, available: false, detail: 'canvas.getContext("webgl2") returned null' };
    const dbg = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    const floats = gl.getExtension('EXT_color_buffer_float') !== null;
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { mode, available: true, detail: `${renderer}${floats ? '' : ' (no EXT_color_buffer_float)'}` };
  }
  const gpu = (navigator as NavigatorGpu).gpu;
  if (!gpu) return { mode, available: false, detail: `navigator.gpu is undefined (secure context: ${isSecureContext})` };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { mode, available: false, detail: 'navigator.gpu.requestAdapter() returned null' };
    const i = adapter.info ?? {};
    const fallback = i.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    const name = [i.vendor, i.architecture, i.description].filter((s) => s).join(' / ');
    return { mode, available: true, detail: `adapter ${name || 'without a name'}${fallback ? ' (fallback adapter)' : ''}` };
  } catch (e) {
    return { mode, available: false, detail: `requestAdapter() threw: ${message(e)}` };
  }
}

/** The float64 reference outputs of a case (computed on first use, shared by cases with its key). */
function referenceOf(c: KernelCase): RefOutputs {
  let r = references.get(c.reference.key);
  if (!r) {
    r = c.reference.run(c.inputs());
    references.set(c.reference.key, r);
  }
  return r;
}

/** Computes a case's inputs and reference ahead of its first call; returns the milliseconds it took. */
function prepareReference(req: CaseRequest): number {
  const t0 = performance.now();
  referenceOf(caseById(req.shapes, req.id));
  return performance.now() - t0;
}

/** The case between its first call and its timing: what timeCase() needs. */
interface Prepared {
  readonly req: CaseRequest;
  readonly be: Backend;
  readonly call: () => Promise<Outputs>;
  readonly outcome: CaseOutcome;
}
let prepared: Prepared | null = null;

function destroyQuietly(be: Backend): void {
  try {
    be.destroy();
  } catch {
    // a backend that failed to compile may not destroy cleanly; the next case gets a new one
  }
}

function release(): void {
  if (prepared) destroyQuietly(prepared.be);
  prepared = null;
}

/**
 * First call of a case (compiles every kernel it uses), its check against the reference and of
 * the kernel class that ran. Keeps the compiled backend for timeCase() when it is worth timing.
 */
async function prepareCase(req: CaseRequest): Promise<CaseOutcome> {
  release();
  const c = caseById(req.shapes, req.id);
  const x = c.inputs();
  const expected = referenceOf(c);
  const base = { id: c.id, mode: req.mode, timing: null };
  const be = new Backend(req.mode);
  const ran = (): string | null => (be.executed.size ? [...be.executed].join(', ') : null);
  let call: () => Promise<Outputs>;
  let out: Outputs;
  const lostBefore = contextsLost;
  const t0 = performance.now();
  try {
    call = await c.engine(be, x);
    out = await call();
  } catch (e) {
    destroyQuietly(be);
    return { ...base, status: 'error', ran: ran(), maxError: null, firstCallMs: null, note: message(e) };
  }
  const firstCallMs = performance.now() - t0;
  // a loss reaches the page some time after the call that caused it (seen: not yet at its return,
  // there 2 s later); only a call long enough to trip the GPU watchdog can have caused one
  if (firstCallMs > WATCHDOG_SUSPECT_MS) await new Promise((r) => setTimeout(r, 2000));
  const maxError = Math.max(...c.outputs.map((n) => relativeError(out[n] ?? [], expected[n])));
  if (contextsLost > lostBefore) {
    // every later call would be a no-op returning zeros: nothing worth timing
    destroyQuietly(be);
    const note = `the WebGL context was lost during the first call (${(firstCallMs / 1000).toFixed(0)} s); gpu.js did not notice and returned an output off by ${maxError.toExponential(1)} of the reference's scale`;
    return { ...base, status: 'error', ran: ran(), maxError, firstCallMs, note };
  }
  let outcome: CaseOutcome;
  try {
    checkExecuted(c.id, req.mode, be.executed);
    try {
      validate(c, req.mode, out, expected);
      outcome = { ...base, status: 'ok', ran: ran(), maxError, firstCallMs };
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      // a wrong kernel is a finding: timed all the same, and flagged everywhere it is shown
      outcome = { ...base, status: 'wrong', ran: ran(), maxError, firstCallMs, note: e.message };
    }
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // what ran is not the mode: timing it would credit another backend
    outcome = { ...base, status: 'fallback', ran: ran(), maxError, firstCallMs, note: e.message };
  }
  prepared = { req, be, call, outcome };
  if (outcome.status === 'fallback') release();
  return outcome;
}

/** Times the case prepareCase() left (warm-up excluded), then checks the kernel class again. */
async function timeCase(): Promise<CaseOutcome> {
  const p = prepared;
  if (!p) throw new Error('timeCase() without a prepared case');
  const { req, be, call, outcome } = p;
  const ran = (): string | null => (be.executed.size ? [...be.executed].join(', ') : null);
  const lostBefore = contextsLost;
  try {
    const timing = await sample(call, req.measure, req.slowCallMs);
    if (contextsLost > lostBefore) {
      return { ...outcome, status: 'error', ran: ran(), note: 'the WebGL context was lost while timing: the calls after it were no-ops' };
    }
    try {
      // again after timing: a fallback mid-run would show here
      checkExecuted(req.id, req.mode, be.executed);
    } catch (e) {
      return { ...outcome, status: 'fallback', ran: ran(), note: message(e) };
    }
    return { ...outcome, ran: ran(), timing };
  } catch (e) {
    return { ...outcome, status: 'error', ran: ran(), note: `the first call was fine, a later one threw: ${message(e)}` };
  } finally {
    release();
  }
}

const api: PageApi = {
  info: () => ({ userAgent: navigator.userAgent, hardwareConcurrency: navigator.hardwareConcurrency, crossOriginIsolated }),
  probe,
  prepareReference,
  prepareCase,
  timeCase,
};
window.digitlabBench = api;
