/**
 * Which gpu.js mode a browser trains on: the element's local-mode rule (`@digitlab/element/choose-backend`:
 * each of webgpu, webgl2 and webasm runs a probe gemm checked against the float64 reference and for the
 * kernel class that ran; the fastest correct one wins), then the model's own check on a real backend,
 * moving along the modes that passed when that check fails. Works in a page and in a Web Worker.
 */
import { chooseBrowserBackend as probeBrowserModes } from '@digitlab/element/choose-backend';
import { Backend } from '@digitlab/tensor';
import type { BackendPreference, BackendTrial, BrowserMode } from './modes.ts';

export { BROWSER_MODES, isBackendPreference, type BrowserMode, type BackendPreference, type BackendTrial } from './modes.ts';

/**
 * The backend to train on: the preferred mode (still probed, refused when it fails), or for `auto` the
 * fastest mode that computes correctly. `check` may run more on a candidate (e.g. the model's own forward
 * pass); a throw moves on to the next mode that passed its probe.
 */
export async function chooseBrowserBackend(preference: BackendPreference, check?: (be: Backend) => Promise<void>): Promise<{ backend: Backend; mode: BrowserMode; trials: BackendTrial[] }> {
  const choice = await probeBrowserModes(preference === 'auto' ? {} : { force: preference });
  const trials: BackendTrial[] = choice.trials
    .filter((t) => t.ms === undefined)
    .map((t) => ({ mode: t.mode as BrowserMode, ok: false, detail: t.error ?? 'failed its probe' }));
  for (const mode of choice.passed) {
    const probe = choice.trials.find((t) => t.mode === mode);
    const found = `${probe?.kernel ?? mode}, probe gemm ${probe?.ms?.toFixed(2) ?? '?'} ms, checked`;
    let be: Backend | null = null;
    try {
      be = new Backend(mode);
      await check?.(be);
      trials.push({ mode, ok: true, detail: found });
      return { backend: be, mode, trials };
    } catch (e) {
      be?.destroy();
      trials.push({ mode, ok: false, detail: `${found}, but the model failed: ${(e as Error).message.split('\n')[0].slice(0, 200)}` });
    }
  }
  throw new Error(`no backend works here: ${trials.map((t) => `${t.mode}: ${t.detail}`).join('; ')}`);
}
