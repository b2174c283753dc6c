/**
 * Drives the page from Node: bundles, serves, opens Chromium, probes each mode, then asks the page
 * for every case on every mode, one at a time, in three steps (reference, first call, timing), each
 * with its own time limit. A case that hangs (a shader SwiftShader takes
 * minutes to compile, a lost device) or crashes the page is recorded as such, the browser is
 * restarted, and the run goes on: one mode's failure never hides another's numbers.
 */
import { kernelCases, type KernelCase } from '../src/cases.js';
import type { ModelShapes } from '../src/shapes.js';
import type { MeasureOptions } from '../src/timing.js';
import { buildBundle } from './bundle.js';
import { matchNiceness, openBenchPage, type BenchPage } from './chromium.js';
import type { BrowserMode, CaseOutcome, CaseRequest, ModeProbe, PageInfo } from './protocol.js';
import { servePage } from './server.js';

/** One case on one mode, with the case's description and its speed. */
export interface BrowserKernelResult extends CaseOutcome {
  readonly model: string;
  readonly op: string;
  readonly pass: string;
  readonly shape: string;
  readonly flops: number | null;
  /** flops / median time. */
  readonly gflops: number | null;
  /** What the page logged at warning/error level during the case (gpu.js names fallbacks there). */
  readonly console?: readonly string[];
}

/** How a browser run goes. */
export interface BrowserSuiteOptions {
  readonly shapes: ModelShapes;
  readonly modes: readonly BrowserMode[];
  /** Case ids to run (default: all). */
  readonly only?: RegExp;
  readonly measure: MeasureOptions;
  readonly slowCallMs: number;
  /**
   * Longest the first call (compiling every kernel of the case, one run) may take before the
   * browser is restarted and the case marked timeout: SwiftShader takes minutes on some shaders.
   */
  readonly firstCallTimeoutMs: number;
  /** Longest the timing of one case may take (warm-up, samples). */
  readonly timingTimeoutMs: number;
  /** Longest the float64 reference of a case may take (not timed; seconds for a convolution). */
  readonly referenceTimeoutMs: number;
  readonly log?: (line: string) => void;
}

/** What a browser run found. */
export interface BrowserSuiteResult {
  readonly page: PageInfo;
  readonly probes: readonly ModeProbe[];
  readonly bundleBytes: number;
  readonly kernels: readonly BrowserKernelResult[];
}

class Timeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`no answer in ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function describeResult(r: BrowserKernelResult): string {
  const t = r.timing;
  const time = t ? (t.sampled ? `${t.medianMs.toPrecision(3)} ms (±${(t.rme ?? 0).toFixed(1)}%, ${t.samples} samples)` : `${t.medianMs.toPrecision(3)} ms (1 call)`) : '';
  const gf = r.gflops !== null ? `  ${r.gflops.toPrecision(3)} GFLOP/s` : '';
  const why = r.status === 'ok' ? '' : `  ${r.note ?? ''}`;
  return `${r.id.padEnd(28)} ${r.mode.padEnd(7)} ${r.status.padEnd(8)} ${time}${gf}  [${r.ran ?? 'nothing ran'}]${why}`;
}

/** Runs every case (matching only) on every mode in headless Chromium. */
export async function runBrowserSuite(opts: BrowserSuiteOptions): Promise<BrowserSuiteResult> {
  const log = opts.log ?? (() => {});
  const cases = kernelCases(opts.shapes).filter((c) => !opts.only || opts.only.test(c.id));
  const bundle = await buildBundle();
  log(`bundle: ${(bundle.bytes / 1024).toFixed(0)} KiB; ${cases.length} cases on ${opts.modes.join(', ')}`);
  const server = await servePage(bundle);
  let page: BenchPage | null = null;
  const open = async (): Promise<BenchPage> => (page ??= await openBenchPage(server.url));
  const drain = (): string[] => page?.drainConsole() ?? [];
  const restart = async (): Promise<void> => {
    await page?.close();
    page = null;
  };
  try {
    const first = await open();
    const info = await first.page.evaluate(() => window.digitlabBench!.info());
    const probes: ModeProbe[] = [];
    for (const mode of opts.modes) {
      const p = await first.page.evaluate((m) => window.digitlabBench!.probe(m), mode);
      probes.push(p);
      log(`${mode}: ${p.available ? 'available' : 'UNAVAILABLE'}: ${p.detail}`);
    }
    // the probes' own messages (the webgl2 probe loses its context on purpose) belong to no case
    drain();
    const kernels: BrowserKernelResult[] = [];
    for (const c of cases) {
      for (const mode of opts.modes) {
        const probe = probes.find((p) => p.mode === mode)!;
        const outcome: CaseOutcome = probe.available
          ? await runOne(c, mode)
          : { id: c.id, mode, status: 'unavailable', ran: null, maxError: null, firstCallMs: null, timing: null, note: probe.detail };
        const r = result(c, outcome, drain());
        kernels.push(r);
        log(describeResult(r));
      }
    }
    return { page: info, probes, bundleBytes: bundle.bytes, kernels };
  } finally {
    await restart();
    await server.close();
  }

  async function runOne(c: KernelCase, mode: BrowserMode): Promise<CaseOutcome> {
    const req: CaseRequest = { shapes: opts.shapes, mode, id: c.id, measure: opts.measure, slowCallMs: opts.slowCallMs };
    const p = await open();
    // SwiftShader starts threads as it goes: bring any new ones down to our niceness too
    matchNiceness();
    const failed = async (e: unknown, step: string, prep?: CaseOutcome): Promise<CaseOutcome> => {
      // the page is stuck or gone: what it logged is the best account of why
      const lines = p.drainConsole();
      await restart();
      const status = e instanceof Timeout ? 'timeout' : 'error';
      const msg = `${step}: ${(e as Error).message.split('\n')[0]}${lines.length ? `; the page said: ${lines.slice(-3).join(' | ')}` : ''}`;
      const base = prep ?? { id: c.id, mode, ran: null, maxError: null, firstCallMs: null, timing: null };
      return { ...base, status, note: msg.slice(0, 800) };
    };
    try {
      await withTimeout(p.page.evaluate((r) => window.digitlabBench!.prepareReference(r), req), opts.referenceTimeoutMs);
    } catch (e) {
      return failed(e, 'the float64 reference did not finish');
    }
    let prep: CaseOutcome;
    try {
      prep = await withTimeout(p.page.evaluate((r) => window.digitlabBench!.prepareCase(r), req), opts.firstCallTimeoutMs);
    } catch (e) {
      return failed(e, 'first call (compilation and one run)');
    }
    if (prep.status !== 'ok' && prep.status !== 'wrong') return prep;
    try {
      return await withTimeout(p.page.evaluate(() => window.digitlabBench!.timeCase()), opts.timingTimeoutMs);
    } catch (e) {
      return failed(e, 'timing', prep);
    }
  }
}

function result(c: KernelCase, o: CaseOutcome, lines: readonly string[]): BrowserKernelResult {
  const t = o.timing;
  const gflops = c.flops !== null && t !== null && t.medianMs > 0 ? c.flops / (t.medianMs * 1e6) : null;
  const seen = [...new Set(lines.map((l) => l.slice(0, 300)))].slice(0, 5);
  return {
    ...o,
    model: c.model,
    op: c.op,
    pass: c.pass,
    shape: c.shape,
    flops: c.flops,
    gflops,
    ...(seen.length ? { console: seen } : {}),
  };
}
