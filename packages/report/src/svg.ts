/**
 * Inline SVG charts for the report: the confusion heat map and the learning curves. Plain
 * strings, no library; every number a test may check is also in a data- attribute.
 */

/** The look of the charts these functions draw (their class names), for any page or shadow root that shows them. */
export const CHART_CSS = `
svg .tick { font-size: 11px; fill: #555; }
svg .axis-title { font-size: 11.5px; fill: #333; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #222; }
svg .legend { font-size: 11px; fill: #333; }
svg .grid { stroke: #ececec; }
svg .axis { stroke: #999; }
svg .marker { stroke-dasharray: 2 3; }
`;

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function mix(a: readonly number[], b: readonly number[], t: number): string {
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const WHITE = [255, 255, 255];
const BLUE = [33, 102, 172];
const RED = [203, 24, 29];

/**
 * confusion[true][predicted] as a heat map: the diagonal in blue (share of the row right), the
 * errors in red on a log scale of their count, so a handful of mistakes still shows.
 */
export function confusionSvg(confusion: readonly (readonly number[])[], model: string): string {
  const n = confusion.length;
  const cell = 40;
  const left = 46;
  const top = 40;
  const size = n * cell;
  let maxOff = 0;
  for (let t = 0; t < n; t++) for (let p = 0; p < n; p++) if (t !== p) maxOff = Math.max(maxOff, confusion[t][p]);
  const parts: string[] = [];
  parts.push(`<svg class="confusion" data-model="${esc(model)}" viewBox="0 0 ${left + size + 8} ${top + size + 8}" width="${left + size + 8}" height="${top + size + 8}" role="img" aria-label="${esc(model)} confusion matrix">`);
  parts.push(`<text x="${left + size / 2}" y="12" class="axis-title" text-anchor="middle">predicted digit</text>`);
  parts.push(`<text transform="translate(12 ${top + size / 2}) rotate(-90)" class="axis-title" text-anchor="middle">true digit</text>`);
  for (let d = 0; d < n; d++) {
    parts.push(`<text x="${left + d * cell + cell / 2}" y="${top - 8}" text-anchor="middle" class="tick">${d}</text>`);
    parts.push(`<text x="${left - 8}" y="${top + d * cell + cell / 2 + 4}" text-anchor="end" class="tick">${d}</text>`);
  }
  for (let t = 0; t < n; t++) {
    const rowTotal = confusion[t].reduce((a, b) => a + b, 0);
    for (let p = 0; p < n; p++) {
      const v = confusion[t][p];
      let fill = '#fafafa';
      let ink = '#222';
      if (t === p) {
        const share = rowTotal ? v / rowTotal : 0;
        fill = mix(WHITE, BLUE, 0.25 + 0.75 * share);
        ink = share > 0.5 ? '#fff' : '#222';
      } else if (v > 0) {
        const s = Math.log1p(v) / Math.log1p(maxOff);
        fill = mix(WHITE, RED, 0.12 + 0.88 * s);
        ink = s > 0.55 ? '#fff' : '#222';
      }
      const x = left + p * cell;
      const y = top + t * cell;
      const label = v === 0 ? '' : String(v);
      const fontSize = label.length > 3 ? 11 : 12.5;
      parts.push(
        `<g class="cell" data-true="${t}" data-predicted="${p}" data-count="${v}"><title>true ${t}, predicted ${p}: ${v}</title>` +
          `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"/>` +
          (label ? `<text x="${x + cell / 2 - 0.5}" y="${y + cell / 2 + 3.5}" text-anchor="middle" fill="${ink}" font-size="${fontSize}">${label}</text>` : '') +
          `</g>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

/** One line of a chart. */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

function fmtTick(v: number, step: number): string {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(digits);
}

/** A vertical line at one x, e.g. the epoch whose weights were kept. */
export interface Marker {
  readonly x: number | undefined;
  readonly color: string;
  readonly label: string;
}

/** A line chart over epochs, with optional vertical markers. */
export function lineChartSvg(options: { title: string; series: readonly Series[]; markers?: readonly Marker[]; percent?: boolean; logScale?: boolean }): string {
  const W = 550;
  const H = 290;
  const m = { l: 52, r: 14, t: 46, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  if (xs.length === 0 || ys.length === 0) return `<svg width="${W}" height="${H}"><text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="tick">no data</text></svg>`;
  const x0 = Math.min(...xs, 1);
  const x1 = Math.max(...xs, x0 + 1);
  const logScale = options.logScale === true && ys.every((y) => y > 0);
  // ticks: a 1-2-5 ladder on a log axis, evenly spaced nice steps on a linear one
  let ticks: number[] = [];
  let y0: number;
  let y1: number;
  let tickLabel: (v: number) => string;
  if (logScale) {
    const ladder: number[] = [];
    for (let k = Math.floor(Math.log10(Math.min(...ys))) - 1; k <= Math.ceil(Math.log10(Math.max(...ys))); k++) for (const f of [1, 2, 5]) ladder.push(f * 10 ** k);
    const lo = Math.max(...ladder.filter((v) => v <= Math.min(...ys)));
    const hi = Math.min(...ladder.filter((v) => v >= Math.max(...ys)));
    ticks = ladder.filter((v) => v >= lo * 0.999 && v <= hi * 1.001);
    y0 = Math.log10(lo);
    y1 = Math.log10(hi);
    tickLabel = (v) => String(Number(v.toPrecision(1)));
  } else {
    y0 = Math.min(...ys);
    y1 = Math.max(...ys);
    if (y1 - y0 < 1e-9) {
      y0 -= 0.05 * Math.abs(y0 || 1);
      y1 += 0.05 * Math.abs(y1 || 1);
    }
    const step = niceStep(y1 - y0, 5);
    y0 = Math.floor(y0 / step) * step;
    y1 = Math.ceil(y1 / step) * step;
    for (let y = y0; y <= y1 + step / 2; y += step) ticks.push(y);
    tickLabel = (v) => (options.percent ? `${fmtTick(v * 100, step * 100)}%` : fmtTick(v, step));
  }
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.t + ph - (((logScale ? Math.log10(y) : y) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(options.title)}">`);
  parts.push(`<text x="${m.l}" y="16" class="chart-title">${esc(options.title)}</text>`);
  if (logScale) parts.push(`<text x="${m.l}" y="30" class="tick">log scale</text>`);
  for (const y of ticks) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end" class="tick">${tickLabel(y)}</text>`);
  }
  const xStep = Math.max(1, Math.round(niceStep(x1 - x0, 8)));
  for (let x = Math.ceil(x0); x <= x1; x += xStep) parts.push(`<text x="${sx(x).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${x}</text>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle" class="axis-title">epoch</text>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" class="axis"/><line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/>`);
  (options.markers ?? []).forEach((mk, i) => {
    if (mk.x === undefined || mk.x < x0 || mk.x > x1) return;
    const x = sx(mk.x).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" class="marker" style="stroke:${mk.color}"/><text x="${x}" y="${m.t + ph - 6 - i * 13}" text-anchor="${mk.x < (x0 + x1) / 2 ? 'start' : 'end'}" dx="${mk.x < (x0 + x1) / 2 ? 3 : -3}" class="tick" style="fill:${mk.color}">${esc(mk.label)}</text>`);
  });
  for (const s of options.series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    for (const p of pts) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.6" fill="${s.color}"><title>${esc(s.label)} epoch ${p[0]}: ${p[1].toFixed(4)}</title></circle>`);
  }
  // legend in the top margin: up to two entries per line, right of the title
  options.series.forEach((s, i) => {
    const lx = W - m.r - 300 + (i % 2) * 150;
    const ly = 12 + Math.floor(i / 2) * 15;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<text x="${lx + 27}" y="${ly + 4}" class="legend">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One bin of a reliability diagram (as @digitlab/models' reliabilityBins returns them). */
export interface BinLike {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly confidence: number;
  readonly accuracy: number;
}

/**
 * A reliability diagram: per confidence bin, the accuracy of the calibrated answers as a bar
 * (the gap to the bin's mean confidence outlined in orange), the raw softmax's accuracy at its mean
 * confidence as a hollow dot, the diagonal where confidence equals accuracy, and below it the
 * number of images per bin on a log scale (nearly all MNIST answers sit in the top bin).
 */
export function reliabilitySvg(options: { model: string; title: string; after: readonly BinLike[]; before: readonly BinLike[]; color: string }): string {
  const W = 360;
  const m = { l: 48, r: 14, t: 34, b: 34 };
  const pw = W - m.l - m.r;
  const ph = pw;
  const hist = 54;
  const H = m.t + ph + 20 + hist + m.b;
  const sx = (x: number) => m.l + x * pw;
  const sy = (y: number) => m.t + ph - y * ph;
  const parts: string[] = [];
  parts.push(`<svg class="reliability" data-model="${esc(options.model)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(options.title)}">`);
  parts.push(`<text x="${m.l}" y="16" class="chart-title">${esc(options.title)}</text>`);
  for (let k = 0; k <= 5; k++) {
    const v = k / 5;
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${k * 20}%</text>`);
    parts.push(`<text x="${sx(v).toFixed(1)}" y="${m.t + ph + 14}" text-anchor="middle" class="tick">${k * 20}%</text>`);
  }
  parts.push(`<text transform="translate(12 ${m.t + ph / 2}) rotate(-90)" class="axis-title" text-anchor="middle">accuracy</text>`);
  parts.push(`<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#999" stroke-dasharray="4 3"/>`);
  for (const b of options.after) {
    if (b.count === 0) continue;
    const x = sx(b.lower) + 1;
    const w = Math.max(1, (b.upper - b.lower) * pw - 2);
    const top = sy(b.accuracy);
    const gapTop = sy(Math.max(b.accuracy, b.confidence));
    const gapBottom = sy(Math.min(b.accuracy, b.confidence));
    parts.push(
      `<g class="bin" data-lower="${b.lower}" data-count="${b.count}" data-accuracy="${b.accuracy}" data-confidence="${b.confidence}"><title>${(b.lower * 100).toFixed(1)}–${(b.upper * 100).toFixed(1)}%: ${b.count} images, mean confidence ${(b.confidence * 100).toFixed(2)}%, accuracy ${(b.accuracy * 100).toFixed(2)}%</title>` +
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${w.toFixed(1)}" height="${(sy(0) - top).toFixed(1)}" fill="${options.color}" fill-opacity="0.75"/>` +
        `<rect x="${(x + 0.75).toFixed(1)}" y="${gapTop.toFixed(1)}" width="${(w - 1.5).toFixed(1)}" height="${Math.max(0.5, gapBottom - gapTop).toFixed(1)}" fill="#fdb863" fill-opacity="0.45" stroke="#e66101" stroke-width="1.5"/></g>`,
    );
  }
  for (const b of options.before) {
    if (b.count === 0) continue;
    parts.push(`<circle class="raw" cx="${sx(b.confidence).toFixed(1)}" cy="${sy(b.accuracy).toFixed(1)}" r="3.5" fill="#fff" stroke="#222" stroke-width="1.4"><title>raw softmax ${(b.lower * 100).toFixed(1)}–${(b.upper * 100).toFixed(1)}%: ${b.count} images, mean confidence ${(b.confidence * 100).toFixed(2)}%, accuracy ${(b.accuracy * 100).toFixed(2)}%</title></circle>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" class="axis"/><line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/>`);
  // image counts per bin, log scale
  const h0 = m.t + ph + 20;
  const maxCount = Math.max(1, ...options.after.map((b) => b.count));
  const hy = (c: number) => h0 + hist - (Math.log10(1 + c) / Math.log10(1 + maxCount)) * hist;
  for (const b of options.after) {
    if (b.count === 0) continue;
    const x = sx(b.lower) + 1;
    const w = Math.max(1, (b.upper - b.lower) * pw - 2);
    parts.push(`<rect x="${x.toFixed(1)}" y="${hy(b.count).toFixed(1)}" width="${w.toFixed(1)}" height="${(h0 + hist - hy(b.count)).toFixed(1)}" fill="#888"><title>${b.count} images</title></rect>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${h0 + hist}" y2="${h0 + hist}" class="axis"/>`);
  parts.push(`<text x="${m.l - 6}" y="${h0 + 8}" text-anchor="end" class="tick">${maxCount}</text>`);
  parts.push(`<text transform="translate(12 ${h0 + hist / 2}) rotate(-90)" class="tick" text-anchor="middle">images</text>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" class="axis-title">confidence (top probability); image counts on a log scale</text>`);
  // legend
  const lx = m.l + 8;
  parts.push(`<rect x="${lx}" y="${m.t + 6}" width="12" height="10" fill="${options.color}" fill-opacity="0.75"/><text x="${lx + 17}" y="${m.t + 15}" class="legend">calibrated accuracy</text>`);
  parts.push(`<rect x="${lx}" y="${m.t + 22}" width="12" height="10" fill="#fdb863" fill-opacity="0.45" stroke="#e66101" stroke-width="1.5"/><text x="${lx + 17}" y="${m.t + 31}" class="legend">gap to confidence</text>`);
  parts.push(`<circle cx="${lx + 6}" cy="${m.t + 43}" r="3.5" fill="#fff" stroke="#222" stroke-width="1.4"/><text x="${lx + 17}" y="${m.t + 47}" class="legend">raw softmax</text>`);
  parts.push('</svg>');
  return parts.join('');
}
