/**
 * What Node and the page say to each other: the requests the driver sends into the page, the
 * outcomes the page sends back (plain JSON, no typed arrays), and the page's global API.
 */
import type { ModelShapes } from '../src/shapes.js';
import type { MeasureOptions, Timing } from '../src/timing.js';

/** The gpu.js modes the browser leg runs. `async` (webasm threads) is left out: see bench/README.md. */
export type BrowserMode = 'webgl2' | 'webgpu' | 'webasm' | 'cpu';
export const BROWSER_MODES: readonly BrowserMode[] = ['webgl2', 'webgpu', 'webasm', 'cpu'];
/** What `pnpm bench:browser` runs unless told otherwise (cpu mode takes minutes a call at batch 128). */
export const DEFAULT_MODES: readonly BrowserMode[] = ['webgl2', 'webgpu', 'webasm'];

/**
 * ok: right, on the promised kernel class, timed.
 * wrong: ran on the promised class but differs from the float64 reference (timed all the same, flagged).
 * fallback: gpu.js ran (part of) it on another kernel class; not timed.
 * error: compiling or running it threw; not timed.
 * timeout: the page did not answer in time (the browser is restarted); not timed.
 * unavailable: the mode has no backend in this browser at all (e.g. no WebGPU adapter).
 */
export type CaseStatus = 'ok' | 'wrong' | 'fallback' | 'error' | 'timeout' | 'unavailable';

/** One case on one mode, as the driver asks for it. */
export interface CaseRequest {
  readonly shapes: ModelShapes;
  readonly mode: BrowserMode;
  readonly id: string;
  readonly measure: MeasureOptions;
  /** A call slower than this (ms) is timed once instead of sampled. */
  readonly slowCallMs: number;
}

/** What the page found for one case on one mode. */
export interface CaseOutcome {
  readonly id: string;
  readonly mode: BrowserMode;
  readonly status: CaseStatus;
  /** The gpu.js kernel classes that executed (`be.executed`), or null when nothing ran. */
  readonly ran: string | null;
  /** Largest deviation from the float64 reference, relative to max(1, |ref|∞); null when no output. */
  readonly maxError: number | null;
  /** Milliseconds of the first call: compilation of every kernel the case uses, plus one run. */
  readonly firstCallMs: number | null;
  readonly timing: Timing | null;
  /** Why it is not ok (error message, fallback reason, which output differs). */
  readonly note?: string;
}

/** Whether a mode's backend exists in this browser, with what the browser says about it. */
export interface ModeProbe {
  readonly mode: BrowserMode;
  readonly available: boolean;
  /** Renderer / adapter description, or why it is unavailable. */
  readonly detail: string;
}

/** Facts about the page that bear on the timings. */
export interface PageInfo {
  readonly userAgent: string;
  readonly hardwareConcurrency: number;
  /** With cross-origin isolation performance.now() has 5 µs resolution instead of 100 µs. */
  readonly crossOriginIsolated: boolean;
}

/** The page's API, installed on window by entry.ts. */
export interface PageApi {
  info(): PageInfo;
  probe(mode: BrowserMode): Promise<ModeProbe>;
  /** Builds a case's inputs and float64 reference (seconds for a conv), so its first call is timed alone; returns ms. */
  prepareReference(req: CaseRequest): number;
  /**
   * First call of one case on one mode (compiling its kernels), checked against the float64
   * reference and EXPECTED_KERNEL; keeps the compiled backend for timeCase when the outcome is ok
   * or wrong. Never throws for the kernel's own failures: they are the outcome.
   */
  prepareCase(req: CaseRequest): Promise<CaseOutcome>;
  /** Times the prepared case (one warm-up call excluded) and frees its backend. */
  timeCase(): Promise<CaseOutcome>;
}

declare global {
  interface Window {
    digitlabBench?: PageApi;
  }
}
