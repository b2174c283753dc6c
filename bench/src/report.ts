/**
 * Results as JSON, a Markdown report (kernel table, end-to-end table, where training time goes)
 * and two SVG bar charts (each kernel's speed relative to the float64 reference; end-to-end
 * images/s).
 */
import type { E2eResult } from './e2e.js';
import type { Timing } from './measure.js';
import { ENGINE_FAILURES, type EngineFailure, type Impl, type KernelResult } from './suite.js';

/** The machine and software a run came from. */
export interface RunInfo {
  readonly run: 'quick' | 'full' | string;
  readonly date: string;
  readonly commit: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly memoryGiB: number; readonly os: string; readonly node: string };
  /** 1-minute load average when the run started and ended: other work on the machine skews every figure. */
  readonly load: { readonly start: number; readonly end: number };
  readonly versions: Readonly<Record<string, string>>;
  readonly options: Readonly<Record<string, unknown>>;
  readonly seconds: number;
  /** How the run was made where it departs from the usual (e.g. headlessgl in child processes). */
  readonly notes?: readonly string[];
}

/** Everything a run writes. */
export interface BenchResults {
  readonly info: RunInfo;
  readonly kernels: readonly KernelResult[];
  readonly e2e: readonly E2eResult[];
}

const IMPL_ORDER: readonly Impl[] = ['reference', 'cpu', 'webasm', 'async', 'headlessgl', 'tfjs-cpu', 'tfjs-wasm'];
const ENGINE: readonly Impl[] = ['cpu', 'webasm', 'async', 'headlessgl'];
const COLORS: Readonly<Record<string, string>> = {
  reference: '#8c8c8c', cpu: '#e6a03c', webasm: '#3c78d8', async: '#1c4587', headlessgl: '#6aa84f', 'tfjs-cpu': '#e06666', 'tfjs-wasm': '#990000',
};

/** 3 significant figures without exponents: 0.123, 12.3, 1234. */
export function formatRate(v: number): string {
  return v >= 100 ? Math.round(v).toString() : v.toPrecision(3);
}

/** "12.3 ms", "1.52 s", "85.1 µs". */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} µs`;
}

function spread(t: Timing): string {
  return t.sampled ? `±${(t.rme ?? 0).toFixed(0)}%` : '(1 call)';
}

/** The implementations present, in a fixed order. */
function implsOf(kernels: readonly KernelResult[]): Impl[] {
  const present = new Set(kernels.map((k) => k.impl));
  return IMPL_ORDER.filter((i) => present.has(i));
}

/** Case ids in run order, with their rows by implementation. */
function byCase(kernels: readonly KernelResult[]): Map<string, Map<Impl, KernelResult>> {
  const m = new Map<string, Map<Impl, KernelResult>>();
  for (const k of kernels) {
    if (!m.has(k.id)) m.set(k.id, new Map());
    m.get(k.id)!.set(k.impl, k);
  }
  return m;
}

const FAILURE_MARK: Readonly<Record<EngineFailure, string>> = { error: '**error**³', fallback: '**fell back**³', wrong: '**✗ wrong**³', timeout: '**timeout**³' };

function isFailure(r: KernelResult): r is KernelResult & { status: EngineFailure } {
  return (ENGINE_FAILURES as readonly string[]).includes(r.status);
}

function cell(r: KernelResult | undefined): string {
  if (!r) return '—';
  if (r.status === 'unsupported') return 'n/a¹';
  // a failed case was never timed: its mark and nothing else
  if (isFailure(r)) return FAILURE_MARK[r.status];
  const t = r.timing!;
  const gf = r.gflops !== null ? ` · ${r.gflops.toPrecision(3)} GF/s` : '';
  return `${r.status === 'mismatch' ? '✗² ' : ''}${formatMs(t.medianMs)} ${spread(t)}${gf}`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return '—';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;
}

/** The fastest engine row of a case. */
function bestEngine(rows: Map<Impl, KernelResult>): KernelResult | undefined {
  let best: KernelResult | undefined;
  for (const i of ENGINE) {
    const r = rows.get(i);
    if (r?.timing && (!best || r.timing.medianMs < best.timing!.medianMs)) best = r;
  }
  return best;
}

/** The kernel table in Markdown. */
export function kernelTable(kernels: readonly KernelResult[]): string {
  const impls = implsOf(kernels);
  const head = ['kernel', 'shape', ...impls, 'fastest engine mode: speed-up over the reference', 'its speed ÷ tfjs-wasm\'s'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`];
  for (const [id, rows] of byCase(kernels)) {
    const any = rows.values().next().value!;
    const best = bestEngine(rows);
    const ref = rows.get('reference')?.timing?.medianMs;
    const tfw = rows.get('tfjs-wasm');
    const tfwMs = tfw?.status === 'ok' ? tfw.timing?.medianMs : undefined;
    lines.push(
      `| ${id} | ${any.shape} | ${impls.map((i) => cell(rows.get(i))).join(' | ')} | ${best ? `${ratio(ref, best.timing!.medianMs)} (${best.impl})` : '—'} | ${best ? ratio(tfwMs, best.timing!.medianMs) : '—'} |`,
    );
  }
  return lines.join('\n');
}

/** The end-to-end table in Markdown: images/s with the median time per call. */
export function e2eTable(e2e: readonly E2eResult[]): string {
  const impls = [...new Set(e2e.map((r) => r.impl))];
  const rows = new Map<string, Map<string, E2eResult>>();
  for (const r of e2e) {
    const key = `${r.model} | ${r.task === 'train' ? 'training step' : 'inference'} | ${r.batch}`;
    if (!rows.has(key)) rows.set(key, new Map());
    rows.get(key)!.set(r.impl, r);
  }
  const head = ['model', 'task', 'batch', ...impls.map((i) => `${i} images/s (median per call)`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`];
  for (const [key, m] of rows) {
    const cells = impls.map((i) => {
      const r = m.get(i);
      if (!r) return '—';
      const gf = r.gflops === undefined ? '' : `, ${r.gflops.toFixed(2)} GFLOP/s`;
      return `${r.note?.startsWith('WRONG') ? '✗² ' : ''}**${formatRate(r.imagesPerSecond)}** (${formatMs(r.timing.medianMs)} ${spread(r.timing)}${gf})`;
    });
    lines.push(`| ${key} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Where a training step's time goes, per model and engine mode: its largest kernels, all kernels together, and the host. */
export function breakdownTable(e2e: readonly E2eResult[], top = 6): string {
  const out: string[] = [];
  for (const model of [...new Set(e2e.map((r) => r.model))]) {
    for (const train of e2e.filter((r) => r.model === model && r.task === 'train' && r.breakdown)) {
      if (!train.breakdown) continue;
      const host = train.breakdown[train.breakdown.length - 1];
      const kernels = train.breakdown.slice(0, -1);
      const shown = kernels.slice(0, top);
      const rest = kernels.slice(top).reduce((s, k) => s + k.msPerStep, 0);
      const stepMs = kernels.reduce((s, k) => s + k.msPerStep, 0) + host.msPerStep;
      const kernelMs = stepMs - host.msPerStep;
      out.push(`**${model}**, training step on \`${train.impl}\` (batch ${train.batch}, ${formatMs(stepMs)} a step):`, '', '| where | ms per step | share |', '| --- | --- | --- |');
      const others = { name: `${kernels.length - shown.length} other kernels`, msPerStep: rest, share: rest / stepMs };
      const total = { name: `**kernels, all ${kernels.length}**`, msPerStep: kernelMs, share: kernelMs / stepMs };
      for (const k of [...shown, others, total, host]) {
        out.push(`| ${k.name} | ${k.msPerStep.toFixed(1)} | ${(k.share * 100).toFixed(1)}% |`);
      }
      out.push('');
    }
  }
  return out.join('\n');
}

/** Where an inference call's time goes (the plan at the smallest batch), per model and mode: kernel calls, kernels, host passes. */
export function inferenceBreakdownTable(e2e: readonly E2eResult[]): string {
  const out: string[] = [];
  const rows = e2e.filter((r) => r.task === 'infer' && r.breakdown);
  const smallest = Math.min(...rows.map((r) => r.batch));
  for (const r of rows.filter((x) => x.batch === smallest)) {
    const total = r.breakdown!.reduce((s, k) => s + k.msPerStep, 0);
    const opByOp = e2e.find((x) => x.task === 'infer' && x.model === r.model && x.batch === r.batch && x.impl === `${r.impl} op-by-op`);
    const calls = `${r.kernelCalls} kernel calls${opByOp?.kernelCalls ? ` (op by op: ${opByOp.kernelCalls})` : ''}`;
    const warm = r.warmMs === undefined ? '' : `; its warm-up (every kernel compiled on ${r.threads === 1 ? 'one thread' : `${r.threads} threads`}) took ${formatMs(r.warmMs)}`;
    out.push(`**${r.model}**, inference plan on \`${r.impl}\`, batch ${r.batch}: ${calls}, ${formatMs(total)} a call while profiled${warm}:`, '', '| where | ms per call | share |', '| --- | --- | --- |');
    for (const k of r.breakdown!) out.push(`| ${k.name} | ${k.msPerStep.toFixed(3)} | ${(k.share * 100).toFixed(1)}% |`);
    out.push('');
  }
  return out.join('\n');
}

/** What ran under each column (kernel class / TF.js backend), from the rows themselves. */
function ranLegend(kernels: readonly KernelResult[], e2e: readonly E2eResult[]): string {
  const ran = new Map<string, Set<string>>();
  // a failed case's classes are in its failure note, not among what the mode ran
  for (const r of [...kernels.filter((k) => !isFailure(k)), ...e2e]) {
    if (!ran.has(r.impl)) ran.set(r.impl, new Set());
    ran.get(r.impl)!.add(r.ran + (r.impl === 'async' && 'note' in r && r.note ? ` (${r.note})` : ''));
  }
  return [...ran].map(([impl, s]) => `\`${impl}\`: ${[...s].join('; ')}`).join(' · ');
}

/** The whole Markdown report. */
export function markdown(res: BenchResults): string {
  const { info } = res;
  const m = info.machine;
  const unsupported = [...new Set(res.kernels.filter((k) => k.status === 'unsupported').map((k) => `${k.impl}: ${k.note}`))];
  const wrong = [...res.kernels.filter((k) => k.status === 'mismatch').map((k) => k.note ?? ''), ...res.e2e.filter((r) => r.note?.startsWith('WRONG')).map((r) => `${r.model} inference on ${r.impl}: ${r.note}`)];
  const parts = [
    `# digitlab benchmarks: ${info.run} run`,
    '',
    `${info.date}, commit \`${info.commit}\`, ${info.seconds.toFixed(0)} s. Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. ` +
      `Load average ${info.load.start.toFixed(2)} at the start, ${info.load.end.toFixed(2)} at the end${info.load.start > m.cores / 2 ? ' (**the machine was busy: other work shares the cores, so every figure is low and noisy**)' : ''}.`,
    `Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    ...(info.notes ?? []),
    '',
    ...(res.kernels.length ? kernelSection(res, unsupported, wrong) : []),
    ...(res.e2e.length ? e2eSection(res) : []),
  ];
  return `${parts.join('\n')}\n`;
}

function kernelSection(res: BenchResults, unsupported: readonly string[], wrong: readonly string[]): string[] {
  return [
    '## Kernels',
    '',
    'Median time per call (± benchmark.js\'s relative margin of error at 95%) and GFLOP/s for the ops whose FLOPs mean something. ' +
      'Every output was checked against the float64 reference in the same run before it was timed; the first calls (kernel compilation) are not timed. ' +
      '"(1 call)": a call too slow to sample, timed once.',
    '',
    kernelTable(res.kernels),
    '',
    `What ran: ${ranLegend(res.kernels, [])}.`,
    '',
    ...refNotes(res.kernels),
    ...(unsupported.length ? [`¹ not available: ${unsupported.join('; ')}.`, ''] : []),
    ...(wrong.length ? [`² output differs from the reference (timed anyway, flagged): ${wrong.join('; ')}`, ''] : []),
    ...failureNotes(res.kernels),
  ];
}

/**
 * The cases an engine mode under test failed (headlessgl), with the reasons, and a count per
 * mode. None of them was timed, and none counts as that mode's result.
 */
export function failureNotes(kernels: readonly KernelResult[]): string[] {
  const failed = kernels.filter(isFailure);
  if (!failed.length) return [];
  const counts = implsOf(failed).map((impl) => {
    const rows = kernels.filter((k) => k.impl === impl);
    const n = (s: string): number => rows.filter((k) => k.status === s).length;
    return `\`${impl}\` ${n('ok')} of ${rows.length} right and timed, ${ENGINE_FAILURES.filter((s) => n(s)).map((s) => `${n(s)} ${s}`).join(', ')}`;
  });
  const oneLine = (s: string): string => s.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  return [
    `³ failed on this mode, not timed and not counted (${counts.join('; ')}):`,
    '',
    ...failed.map((k) => `- **${k.id}** on **${k.impl}**: ${k.status}${k.note ? `: ${oneLine(k.note)}` : ''}${k.firstCallMs != null ? ` (first call ${formatMs(k.firstCallMs)})` : ''}`),
    '',
  ];
}

/** Notes of reference rows that time more than their case (a conv's gradients come from one reference call). */
function refNotes(kernels: readonly KernelResult[]): string[] {
  const ids = kernels.filter((k) => k.impl === 'reference' && k.note).map((k) => k.id);
  if (!ids.length) return [];
  const note = kernels.find((k) => k.impl === 'reference' && k.note)!.note;
  return [`The reference rows of ${ids.join(', ')} time one call that computes ${note}; their GF/s count all of it.`, ''];
}

function e2eSection(res: BenchResults): string[] {
  return [
    '## End to end',
    '',
    `Weights: ${[...new Set(res.e2e.map((r) => `${r.model} ${r.weights}`))].join(', ')}. A training step is forward, loss, backward and the AdamW update; inference is the forward pass without the tape.`,
    '',
    e2eTable(res.e2e),
    '',
    '### Where a training step\'s time goes',
    '',
    'From the backend\'s per-kernel profile during the timed steps (a convolution\'s input gradient runs on `conv2d_forward`; dense layers and attention projections on `gemm`).',
    '',
    breakdownTable(res.e2e),
    '### Where an inference call\'s time goes',
    '',
    'Inference rows under a mode run its inference plan (what `loadClassifier(...).predict()` runs); `<mode> op-by-op` rows run the forward pass one op at a time, as training does. Kernel times from the plan\'s per-kernel profile over separate calls after the timed ones.',
    '',
    inferenceBreakdownTable(res.e2e),
  ];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal grouped bars of each kernel's speed relative to the reference, on a log scale. */
export function kernelChart(kernels: readonly KernelResult[], title: string): string {
  // the reference is the 1× line itself
  const impls = implsOf(kernels).filter((i) => i !== 'reference');
  const cases = byCase(kernels);
  const bar = 7;
  const gap = 10;
  const labelW = 230;
  const plotW = 560;
  const top = 60;
  const groupH = impls.length * bar + gap;
  const height = top + cases.size * groupH + 40;
  // speed-ups spanning 1/1000 to 1000
  const lo = -3;
  const hi = 3;
  const xOf = (v: number) => labelW + ((Math.log10(Math.min(Math.max(v, 10 ** lo), 10 ** hi)) - lo) / (hi - lo)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 160}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">speed relative to the float64 reference (reference time / time; log scale; longer is faster)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const x = xOf(10 ** e);
    out.push(`<line x1="${x}" y1="${top - 8}" x2="${x}" y2="${height - 30}" stroke="${e === 0 ? '#333' : '#ddd'}"/>`, `<text x="${x}" y="${height - 16}" text-anchor="middle" fill="#555">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}×</text>`);
  }
  let y = top;
  for (const [id, rows] of cases) {
    const ref = rows.get('reference')?.timing?.medianMs;
    out.push(`<text x="${labelW - 6}" y="${y + (impls.length * bar) / 2 + 4}" text-anchor="end">${esc(id)}</text>`);
    impls.forEach((impl, i) => {
      const r = rows.get(impl);
      const by = y + i * bar;
      if (!r?.timing || ref === undefined) return;
      const v = ref / r.timing.medianMs;
      const x0 = xOf(1);
      const x1 = xOf(v);
      out.push(`<rect x="${Math.min(x0, x1)}" y="${by}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${bar - 1}" fill="${COLORS[impl]}"${r.status === 'mismatch' ? ' fill-opacity="0.35"' : ''}><title>${esc(`${id} ${impl}: ${formatMs(r.timing.medianMs)}, ${v.toPrecision(3)}× the reference`)}</title></rect>`);
    });
    y += groupH;
  }
  impls.forEach((impl, i) => {
    out.push(`<rect x="${labelW + plotW + 20}" y="${top + i * 16}" width="12" height="10" fill="${COLORS[impl]}"/>`, `<text x="${labelW + plotW + 38}" y="${top + i * 16 + 9}">${impl}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Horizontal bars of end-to-end images/s, one group per model · task · batch. */
export function e2eChart(e2e: readonly E2eResult[], title: string): string {
  const impls = [...new Set(e2e.map((r) => r.impl))];
  const groups = new Map<string, E2eResult[]>();
  for (const r of e2e) {
    const key = `${r.model} ${r.task === 'train' ? 'train' : 'infer'} b${r.batch}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  const bar = 9;
  const labelW = 130;
  const plotW = 560;
  const top = 50;
  const groupH = impls.length * bar + 10;
  const height = top + groups.size * groupH + 40;
  const max = Math.max(...e2e.map((r) => r.imagesPerSecond));
  const lo = Math.floor(Math.log10(Math.min(...e2e.map((r) => r.imagesPerSecond))));
  const hi = Math.ceil(Math.log10(max));
  const xOf = (v: number) => labelW + ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 160}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">images per second (log scale)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const x = xOf(10 ** e);
    out.push(`<line x1="${x}" y1="${top - 8}" x2="${x}" y2="${height - 30}" stroke="#ddd"/>`, `<text x="${x}" y="${height - 16}" text-anchor="middle" fill="#555">${10 ** e}</text>`);
  }
  let y = top;
  for (const [key, rs] of groups) {
    out.push(`<text x="${labelW - 6}" y="${y + (impls.length * bar) / 2 + 4}" text-anchor="end">${esc(key)}</text>`);
    impls.forEach((impl, i) => {
      const r = rs.find((q) => q.impl === impl);
      if (!r) return;
      const w = Math.max(1, xOf(r.imagesPerSecond) - labelW);
      out.push(`<rect x="${labelW}" y="${y + i * bar}" width="${w}" height="${bar - 1}" fill="${COLORS[impl] ?? '#999'}"><title>${esc(`${key} ${impl}: ${r.imagesPerSecond.toPrecision(4)} images/s`)}</title></rect>`);
    });
    y += groupH;
  }
  impls.forEach((impl, i) => {
    out.push(`<rect x="${labelW + plotW + 20}" y="${top + i * 16}" width="12" height="10" fill="${COLORS[impl] ?? '#999'}"/>`, `<text x="${labelW + plotW + 38}" y="${top + i * 16 + 9}">${impl}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
