/**
 * The browser run's results file and its Markdown: one table of kernel × mode (median, spread,
 * GFLOP/s, status), what each mode ran on, and every case that was not ok with the reason.
 */
import { formatMs } from '../src/report.js';
import type { MeasureOptions } from '../src/timing.js';
import type { BrowserKernelResult } from './driver.js';
import type { BrowserMode, ModeProbe, PageInfo } from './protocol.js';

/** Where and how a browser run was made. */
export interface BrowserRunInfo {
  readonly run: string;
  readonly date: string;
  readonly commit: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly os: string; readonly node: string };
  readonly load: { readonly start: number; readonly end: number };
  readonly chromium: string;
  readonly flags: readonly string[];
  readonly page: PageInfo;
  readonly versions: Readonly<Record<string, string>>;
  readonly shapes: string;
  readonly modes: readonly BrowserMode[];
  readonly measure: MeasureOptions;
  readonly slowCallMs: number;
  /** Time limits of a case's steps (ms): past one, the browser is restarted and the case is a timeout. */
  readonly limits: { readonly firstCallTimeoutMs: number; readonly timingTimeoutMs: number; readonly referenceTimeoutMs: number };
  readonly bundleBytes: number;
  readonly seconds: number;
}

/** Everything bench/results/<run>.json holds. */
export interface BrowserResults {
  readonly info: BrowserRunInfo;
  readonly probes: readonly ModeProbe[];
  readonly kernels: readonly BrowserKernelResult[];
  /** The Node run's webasm medians (bench/results/quick.json) by case id, for comparison; another run, other load. */
  readonly nodeWebasm?: Readonly<Record<string, number>>;
}

const MARK: Readonly<Record<BrowserKernelResult['status'], string>> = {
  ok: '',
  wrong: '✗ wrong',
  fallback: 'fell back',
  error: 'error',
  timeout: 'timeout',
  unavailable: 'n/a',
};

/** One table cell: "27.3 ms ±17% · 4.32 GF/s", or the status and, when timed anyway, the time. */
export function browserCell(r: BrowserKernelResult | undefined, limits: BrowserRunInfo['limits']): string {
  if (!r) return '—';
  const t = r.timing;
  const time = t ? `${formatMs(t.medianMs)} ${t.sampled ? `±${(t.rme ?? 0).toFixed(0)}%` : '(1 call)'}${r.gflops !== null ? ` · ${r.gflops.toPrecision(3)} GF/s` : ''}` : '';
  if (r.status === 'ok') return time;
  if (r.status === 'timeout') {
    // the driver's note names the step that ran out of time
    const firstCall = r.note?.startsWith('first call') ?? false;
    return firstCall ? `**timeout** (first call > ${(limits.firstCallTimeoutMs / 1000).toFixed(0)} s)` : '**timeout**';
  }
  if (r.status === 'wrong') return `**✗ wrong** (error ${r.maxError?.toExponential(1)}) ${time}`;
  return `**${MARK[r.status]}**`;
}

function modesOf(res: BrowserResults): BrowserMode[] {
  return res.info.modes.filter((m) => res.kernels.some((k) => k.mode === m));
}

/** The kernel × mode table. */
export function browserTable(res: BrowserResults): string {
  const modes = modesOf(res);
  const node = res.nodeWebasm;
  const head = ['kernel', 'shape', ...modes, ...(node ? ['Node webasm (quick.json)'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  const ids = [...new Set(res.kernels.map((k) => k.id))];
  for (const id of ids) {
    const rows = res.kernels.filter((k) => k.id === id);
    const cells = modes.map((m) => browserCell(rows.find((r) => r.mode === m), res.info.limits));
    const nodeMs = node?.[id];
    lines.push(`| ${id} | ${rows[0].shape} | ${cells.join(' | ')}${node ? ` | ${nodeMs !== undefined ? formatMs(nodeMs) : '—'}` : ''} |`);
  }
  return lines.join('\n');
}

/** Mode → available, what the browser said, the kernel classes that ran, and how its cases ended. */
export function modeTable(res: BrowserResults): string {
  const lines = ['| mode | backend in this browser | kernel class that ran | ok | wrong | fell back | error | timeout |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const p of res.probes) {
    const rows = res.kernels.filter((k) => k.mode === p.mode);
    const ran = [...new Set(rows.map((r) => r.ran).filter((r): r is string => r !== null))].join(', ') || '—';
    const count = (s: BrowserKernelResult['status']): number => rows.filter((r) => r.status === s).length;
    const avail = p.available ? p.detail : `**unavailable**: ${p.detail}`;
    lines.push(`| ${p.mode} | ${avail} | ${ran} | ${count('ok')} | ${count('wrong')} | ${count('fallback')} | ${count('error')} | ${count('timeout')} |`);
  }
  return lines.join('\n');
}

/** Every case that was not ok, with why. */
export function failureList(res: BrowserResults): string[] {
  return res.kernels
    .filter((k) => k.status !== 'ok' && k.status !== 'unavailable')
    .map((k) => `- **${k.id}** on **${k.mode}**: ${k.status}${k.note ? `: ${k.note.replace(/\s+/g, ' ').replace(/\|/g, '\\|')}` : ''}`);
}

/** The whole Markdown report of a browser run. */
export function browserMarkdown(res: BrowserResults): string {
  const { info } = res;
  const m = info.machine;
  const busy = info.load.start > m.cores / 2;
  const failures = failureList(res);
  const compile = res.kernels.filter((k) => k.firstCallMs !== null);
  const slowest = [...compile].sort((a, b) => b.firstCallMs! - a.firstCallMs!).slice(0, 3);
  const parts = [
    `# digitlab kernels in headless Chromium: ${info.run} run`,
    '',
    `${info.date}, commit \`${info.commit}\`, ${info.seconds.toFixed(0)} s. Machine: ${m.cpu}, ${m.cores} cores, ${m.os}, no GPU. ` +
      `Load average ${info.load.start.toFixed(2)} at the start, ${info.load.end.toFixed(2)} at the end${busy ? ' (**the machine was busy: other work shares the cores, so every figure is low and noisy**)' : ''}.`,
    `Browser: ${info.chromium} (\`${info.page.userAgent}\`), ${info.page.hardwareConcurrency} logical cores seen, cross-origin isolated: ${info.page.crossOriginIsolated}. ` +
      `Flags: \`${info.flags.join(' ')}\`.`,
    `Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. Shapes: ${info.shapes}. Bundle: ${(info.bundleBytes / 1024).toFixed(0)} KiB.`,
    '',
    '## Modes',
    '',
    modeTable(res),
    '',
    '## Kernels',
    '',
    'Median time per call, ± the relative margin of error of the mean at 95% (as benchmark.js reports it), GFLOP/s where the case has a FLOP count. ' +
      `Each case ran on a fresh \`Backend(mode)\`: the first call (compilation and one run) is checked against the float64 reference (tolerance 1e-4 of max(1, |ref|∞)) and the kernel class in \`be.executed\` against \`EXPECTED_KERNEL\`; ` +
      `one warm-up call follows, then the page's sampler (cycles of at least ${info.measure.minTime * 1000} ms, at least ${info.measure.minSamples} of them, sampling for ${info.measure.maxTime} s; ` +
      `a call over ${info.slowCallMs} ms is timed once: "(1 call)"). Times include the readback to a Float32Array, as the engine uses every kernel. ` +
      `**✗ wrong**: ran on the promised class but disagrees with the reference (timed anyway); **fell back**, **error**, **timeout**: not timed (reasons below). ` +
      `A first call (compilation of the case's kernels and one run) has ${info.limits.firstCallTimeoutMs / 1000} s, the timing ${info.limits.timingTimeoutMs / 1000} s; past either, the browser is restarted and the run goes on.`,
    '',
    browserTable(res),
    '',
    ...(res.nodeWebasm ? ['The last column is the Node run\'s webasm median from `bench/results/quick.json`: another run, under other load; a rough comparison only.', ''] : []),
    ...(slowest.length ? [`Slowest first calls (compilation): ${slowest.map((k) => `${k.id} on ${k.mode} ${formatMs(k.firstCallMs!)}`).join('; ')}.`, ''] : []),
    ...(failures.length ? ['## Not ok', '', ...failures, ''] : []),
  ];
  return `${parts.join('\n')}\n`;
}
