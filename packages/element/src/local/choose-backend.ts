/**
 * Which of the browser's gpu.js modes runs here: the rule `auto` follows in Node (each candidate
 * runs a probe gemm, checked against the float64 reference and for the kernel class that ran; the
 * fastest correct one wins), over the modes a page has: webgpu, webgl2, webasm. A forced mode is
 * probed all the same and refused when it fails, so a caller never runs on a mode that was not
 * checked. Works in a page and in a worker (webgl2 then draws on an OffscreenCanvas).
 */
import { chooseMode, type AutoChoice, type Mode, type ModeTrial } from '@digitlab/tensor';
import { BROWSER_MODES, isBrowserMode, type BrowserMode } from './modes.ts';

export { BROWSER_MODES, isBrowserMode, type BrowserMode };

/** The outcome: the chosen mode, every trial, and the modes that passed (fastest first), to fall back along. */
export interface BrowserChoice extends AutoChoice {
  readonly mode: BrowserMode;
  /** Every mode that passed its probe, fastest first (the chosen one first). */
  readonly passed: readonly BrowserMode[];
}

/** No browser mode passed its probe (each trial says why). */
export class NoBackendError extends Error {
  override readonly name = 'NoBackendError';
  constructor(readonly trials: readonly ModeTrial[]) {
    super(`no browser backend passed its check here: ${trials.map((t) => `${t.mode}: ${t.error ?? 'ok'}`).join('; ')}`);
  }
}

/** Options of chooseBrowserBackend. */
export interface ChooseBrowserOptions {
  /** Probe only this mode (a `backend` attribute). */
  readonly force?: BrowserMode;
  /** Modes to try (default BROWSER_MODES); `force` wins over it. */
  readonly candidates?: readonly BrowserMode[];
  /** Timed probe calls per mode after its warm-up (default 5). */
  readonly repeats?: number;
}

/** Probes the browser modes (an inference-sized gemm each) and returns the fastest that computes right; throws NoBackendError when none does. */
export async function chooseBrowserBackend(options: ChooseBrowserOptions = {}): Promise<BrowserChoice> {
  const candidates: Mode[] = options.force ? [options.force] : [...(options.candidates ?? BROWSER_MODES)];
  let choice: AutoChoice;
  try {
    // cpu, chooseMode's last resort, is not a browser backend worth running a model on
    choice = await chooseMode({ candidates, workload: 'inference', repeats: options.repeats ?? 5 });
  } catch (e) {
    // every candidate and cpu failed: chooseMode's message names each trial's reason
    throw new NoBackendError(candidates.map((mode) => ({ mode, error: (e as Error).message })));
  }
  const trials = choice.trials.filter((t) => t.mode !== 'cpu');
  const passed = trials
    .filter((t): t is ModeTrial & { ms: number } => t.ms !== undefined && isBrowserMode(t.mode))
    .sort((a, b) => a.ms - b.ms)
    .map((t) => t.mode as BrowserMode);
  if (passed.length === 0) throw new NoBackendError(trials);
  return { mode: passed[0], trials, passed };
}
