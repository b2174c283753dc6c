import { CALIBRATION_BINS, type EpochLog, normalizeMap, patchMapToPixels } from '@digitlab/models';
import type { ExplainedDigit, ModelResult, ReportData } from './collect.js';
import { digitPng, heatColor, overlayPng } from './png.js';
import { CHART_CSS, confusionSvg, esc, lineChartSvg, reliabilitySvg } from './svg.js';
import { PIXELS } from '@digitlab/digit-csv';

/** Most tiles one gallery shows (the most confident mistakes first); the rest are counted. */
export const GALLERY_LIMIT = 200;

const COLORS: Record<string, { train: string; val: string }> = {
  cnn: { train: '#2166ac', val: '#67a9cf' },
  vit: { train: '#b2182b', val: '#ef8a62' },
};

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');
/** How a model is named in prose: CNN, ViT. */
const upper = (name: string) => (name === 'vit' ? 'ViT' : name.toUpperCase());

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
}

function flops(x: number): string {
  return x >= 1e9 ? `${(x / 1e9).toFixed(2)} GFLOP` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} MFLOP` : `${int(x)} FLOP`;
}

/** Confidence as a short percentage that never claims certainty. */
function conf(p: number): string {
  return p > 0.999 ? '>99.9%' : `${(p * 100).toFixed(1)}%`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --line: #e3e3e3; --bg: #fff; --panel: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-top: 12px; border-top: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
p { margin: 6px 0; max-width: 80ch; }
.muted { color: var(--muted); }
.lede { font-size: 16px; }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; background: var(--panel); padding: 1px 4px; border-radius: 3px; }
nav a { margin-right: 14px; color: #1a5fb4; text-decoration: none; }
table.compare { border-collapse: collapse; margin: 10px 0; min-width: 560px; }
table.compare th, table.compare td { text-align: left; padding: 6px 14px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
table.compare td.num { font-variant-numeric: tabular-nums; }
table.compare td.best { font-weight: 600; }
table.compare th:first-child { width: 250px; }
table.compare td { width: 420px; }
.small { font-size: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
.panel { background: var(--panel); border-radius: 8px; padding: 14px 16px; }
.pairs { margin: 8px 0 0; padding-left: 18px; font-variant-numeric: tabular-nums; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
${CHART_CSS}
.gallery { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 4px; }
.tile { margin: 0; width: 64px; text-align: center; font-size: 11px; line-height: 1.25; font-variant-numeric: tabular-nums; }
.tile img, .explain img { image-rendering: pixelated; display: block; border-radius: 3px; }
.tile img { width: 56px; height: 56px; margin: 0 auto 2px; }
.tile .wrong { color: #b2182b; font-weight: 600; }
.tile.disagree { width: 84px; }
.gallery + h3, .gallery + p + h3 { margin-top: 22px; }
.explain { border-collapse: collapse; margin-top: 8px; }
.explain th { font-weight: 600; font-size: 12px; padding: 0 6px 4px; text-align: center; }
.explain td { padding: 4px 6px; text-align: center; vertical-align: top; font-size: 11px; font-variant-numeric: tabular-nums; }
.explain td.sep { border-left: 2px solid var(--line); }
.explain img { width: 84px; height: 84px; margin: 0 auto 2px; }
.explain td.meta { text-align: left; min-width: 140px; font-size: 12px; }
.panel.calibration { max-width: 392px; }
.ramp { display: inline-block; width: 120px; height: 10px; vertical-align: middle; border-radius: 2px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
`;

function comparisonTable(models: readonly ModelResult[], data: ReportData): string {
  const best = (values: number[], higher: boolean) => {
    const b = higher ? Math.max(...values) : Math.min(...values);
    return values.map((v) => models.length > 1 && v === b);
  };
  type Row = { label: string; metric: string; values: number[]; show: (v: number, m: ModelResult) => string; higher?: boolean; note?: string };
  const rows: Row[] = [
    { label: 'Parameters', metric: 'params', values: models.map((m) => m.params), show: int, higher: false },
    { label: 'FLOPs per image', metric: 'flops', values: models.map((m) => m.flopsPerImage), show: flops, higher: false, note: 'multiply-adds × 2 of one forward pass' },
    {
      label: 'Training time',
      metric: 'trainingSeconds',
      values: models.map((m) => m.card.training?.seconds ?? NaN),
      show: (v, m) => `${duration(v)} <span class="muted">(${m.card.training?.epochs ?? '?'} epoch${m.card.training?.epochs === 1 ? '' : 's'}, kept epoch ${m.card.training?.bestEpoch ?? '?'})</span><br><span class="muted small">${esc(m.card.training?.machine ?? '?')}; engine backend ${esc(m.card.training?.backend ?? '?')}</span>`,
    },
    { label: 'Inference latency, 1 image', metric: 'latencyMs', values: models.map((m) => m.latencyMs), show: (v) => `${v.toFixed(1)} ms`, higher: false, note: 'median of timed single-image forward passes in this run' },
    { label: `Throughput, batches of ${data.batchSize}`, metric: 'imagesPerSecond', values: models.map((m) => m.imagesPerSecond), show: (v) => `${int(v)} images/s`, higher: true, note: 'this run, after the first batch (which compiles the kernels)' },
    { label: 'Test accuracy', metric: 'accuracy', values: models.map((m) => m.summary.accuracy), show: (v) => pct(v), higher: true },
    { label: 'Test loss (cross-entropy)', metric: 'loss', values: models.map((m) => m.summary.loss), show: (v, m) => `${v.toFixed(4)} <span class="muted">(raw softmax ${m.calibration.rawLoss.toFixed(4)})</span>`, higher: false, note: 'of the calibrated probabilities predict() returns' },
    { label: `Calibration error (ECE, ${CALIBRATION_BINS} bins)`, metric: 'ece', values: models.map((m) => m.calibration.ece.after), show: (v, m) => `${pct(v)} <span class="muted">(raw softmax ${pct(m.calibration.ece.before)}; temperature ${m.calibration.temperature.toFixed(3)})</span>`, higher: false },
    { label: 'Misclassified', metric: 'errors', values: models.map((m) => m.summary.misclassified.length), show: (v) => `${int(v)} of ${int(data.data.count)}`, higher: false },
  ];
  const head = `<tr><th></th>${models.map((m) => `<th>${upper(m.name)}</th>`).join('')}</tr>`;
  const body = rows
    .map((r) => {
      const marks = r.higher === undefined ? r.values.map(() => false) : best(r.values, r.higher);
      const cells = models
        .map((m, i) => `<td class="num${marks[i] ? ' best' : ''}" data-model="${esc(m.name)}" data-metric="${r.metric}" data-value="${r.values[i]}">${Number.isFinite(r.values[i]) ? r.show(r.values[i], m) : '—'}</td>`)
        .join('');
      return `<tr><th>${esc(r.label)}${r.note ? `<br><span class="muted" style="font-weight:400;font-size:12px">${esc(r.note)}</span>` : ''}</th>${cells}</tr>`;
    })
    .join('');
  const card = `<tr><th>Model card</th>${models
    .map((m) => {
      const check = m.matchesCard === null ? 'not compared (partial run)' : m.matchesCard ? 'test accuracy reproduced ✓' : `<strong>differs from the card (${pct(m.card.metrics.test.accuracy)})</strong>`;
      return `<td>version ${esc(m.card.version ?? '?')}<br><span class="muted">sha256 ${esc((m.card.weights?.sha256 ?? '').slice(0, 12))}…, ${check}</span></td>`;
    })
    .join('')}</tr>`;
  return `<table class="compare">${head}${body}${card}</table>`;
}

/** Unordered pairs {a, b} by total confusions in both directions. */
function symmetricPairs(confusion: readonly (readonly number[])[]): Array<{ a: number; b: number; count: number }> {
  const out: Array<{ a: number; b: number; count: number }> = [];
  for (let a = 0; a < confusion.length; a++) for (let b = a + 1; b < confusion.length; b++) if (confusion[a][b] + confusion[b][a] > 0) out.push({ a, b, count: confusion[a][b] + confusion[b][a] });
  return out.sort((x, y) => y.count - x.count || x.a - y.a || x.b - y.b);
}

function confusionSection(models: readonly ModelResult[]): string {
  const panels = models.map((m) => {
    const directed = m.summary.mostConfused.slice(0, 6);
    const pairs = symmetricPairs(m.summary.confusion).slice(0, 5);
    return `<div class="panel"><h3>${upper(m.name)} <span class="muted" style="font-weight:400">${pct(m.summary.accuracy)} right, ${int(m.summary.misclassified.length)} wrong</span></h3>
${confusionSvg(m.summary.confusion, m.name)}
<div class="row" style="gap:24px">
<div><strong>Most confused</strong> (true → predicted)<ol class="pairs" data-model="${esc(m.name)}">${directed.map((p) => `<li data-true="${p.true}" data-predicted="${p.predicted}" data-count="${p.count}">${p.true} → ${p.predicted}: ${p.count}</li>`).join('') || '<li>none</li>'}</ol></div>
<div><strong>Pairs, both ways</strong><ol class="pairs">${pairs.map((p) => `<li>${p.a} / ${p.b}: ${p.count}</li>`).join('') || '<li>none</li>'}</ol></div>
</div></div>`;
  });
  return `<div class="row">${panels.join('')}</div>`;
}

function curvesSection(models: readonly ModelResult[]): string {
  const logged = models.filter((m) => m.log.length > 0);
  const missing = models.filter((m) => m.log.length === 0).map((m) => `<p class="muted">No training log shipped for the ${upper(m.name)} (weights/${esc(m.name)}.log.jsonl).</p>`);
  if (logged.length === 0) return missing.join('');
  const markers = logged.map((m) => ({ x: m.card.training?.bestEpoch, color: (COLORS[m.name] ?? COLORS.cnn).train, label: `${upper(m.name)} kept` }));
  const series = (train: (e: EpochLog) => number, val: (e: EpochLog) => number) =>
    logged.flatMap((m) => {
      const c = COLORS[m.name] ?? COLORS.cnn;
      return [
        { label: `${upper(m.name)} train`, color: c.train, points: m.log.map((e) => [e.epoch, train(e)] as const) },
        { label: `${upper(m.name)} validation`, color: c.val, dashed: true, points: m.log.map((e) => [e.epoch, val(e)] as const) },
      ];
    });
  const loss = lineChartSvg({ title: 'Loss (cross-entropy)', markers, logScale: true, series: series((e) => e.trainLoss, (e) => e.valLoss) });
  const acc = lineChartSvg({ title: 'Accuracy', markers, percent: true, series: series((e) => e.trainAccuracy, (e) => e.valAccuracy) });
  const notes = logged.map((m) => {
    const last = m.log[m.log.length - 1];
    const best = m.log.reduce((a, b) => (b.valAccuracy > a.valAccuracy ? b : a));
    return `<li data-model="${esc(m.name)}" data-epochs="${m.log.length}">${upper(m.name)}: ${m.log.length} epoch${m.log.length === 1 ? '' : 's'} logged, best validation ${pct(best.valAccuracy)} (epoch ${best.epoch}); last epoch train ${pct(last.trainAccuracy)} / validation ${pct(last.valAccuracy)}, ${int(last.imagesPerSecond)} images/s while training.</li>`;
  });
  return `<div class="row" style="gap:16px">${loss}${acc}</div><ul>${notes.join('')}</ul>${missing.join('')}
<p class="muted">Training accuracy and loss are running means over each epoch's augmented batches with dropout on, so they sit below validation early on.</p>`;
}

function calibrationSection(models: readonly ModelResult[]): string {
  const panels = models.map((m) => {
    const c = m.calibration;
    const fitted = m.card.calibration ? `fitted on ${esc(m.card.calibration.fittedOn)}` : 'none in the model card, so the raw softmax';
    const rule = m.card.uncertainty;
    const svg = reliabilitySvg({ model: m.name, title: `${upper(m.name)}: reliability on the test images`, after: c.after, before: c.before, color: (COLORS[m.name] ?? COLORS.cnn).train });
    return `<div class="panel calibration" data-model="${esc(m.name)}" data-temperature="${c.temperature}" data-ece-before="${c.ece.before}" data-ece-after="${c.ece.after}">${svg}
<p class="small">Temperature <strong>${c.temperature.toFixed(3)}</strong>, ${fitted}. ECE ${pct(c.ece.before)} raw → <strong>${pct(c.ece.after)}</strong> calibrated; loss ${c.rawLoss.toFixed(4)} → ${m.summary.loss.toFixed(4)}.${rule ? ` Answers under ${pct(rule.threshold, 1)} confidence are flagged uncertain: on the validation images that flags ${pct(rule.validationFlagged)} of the answers and ${pct(rule.validationErrorsFlagged, 0)} of the mistakes, and the answers above it are right ${pct(rule.validationAccuracyAbove, 1)} of the time.` : ''}</p></div>`;
  });
  return `<div class="row">${panels.join('')}</div>`;
}

function explainSection(data: ReportData): string {
  const vits = data.models.filter((m) => m.kind === 'vit');
  const cnns = data.models.filter((m) => m.kind === 'cnn');
  const first = data.explained[0];
  if (!first) return '<p class="muted">No digits to explain.</p>';
  const layerCount = (name: string) => first.attention[name]?.layers.length ?? 0;
  const head =
    `<tr><th></th><th>digit</th>` +
    vits.map((v) => Array.from({ length: layerCount(v.name) }, (_, l) => `<th${l === 0 ? ' class="sep"' : ''}>${upper(v.name)} layer ${l + 1}</th>`).join('')).join('') +
    cnns.map((c) => `<th class="sep">${upper(c.name)} saliency</th>`).join('') +
    '</tr>';
  const row = (d: ExplainedDigit) => {
    const image = data.data.images.subarray(d.index * PIXELS, (d.index + 1) * PIXELS);
    const preds = data.models
      .map((m) => {
        const p = d.predictions[m.name];
        return `${upper(m.name)}: <span${p.digit !== d.label ? ' class="wrong" style="color:#b2182b;font-weight:600"' : ''}>${p.digit}</span> (${conf(p.confidence)})`;
      })
      .join('<br>');
    const meta = `<td class="meta" data-index="${d.index}">test image #${d.index}<br>true digit <strong>${d.label}</strong><br>${preds}<br><span class="muted">${esc(d.reason)}</span></td>`;
    const digit = `<td><img src="${digitPng(image)}" alt="digit ${d.label}"></td>`;
    const att = vits
      .map((v) => {
        const maps = d.attention[v.name];
        if (!maps) return '';
        return maps.layers
          .map((layer, l) => `<td${l === 0 ? ' class="sep"' : ''}><img src="${overlayPng(image, patchMapToPixels(layer, maps.grid, maps.patch))}" alt="${esc(v.name)} layer ${l + 1} attention"><span class="muted" title="attention of the class token to itself">self ${pct(maps.self[l], 0)}</span></td>`)
          .join('');
      })
      .join('');
    const sal = cnns
      .map((c) => {
        const s = d.saliency[c.name];
        return s ? `<td class="sep"><img src="${overlayPng(image, normalizeMap(s))}" alt="${esc(c.name)} saliency"></td>` : '<td class="sep"></td>';
      })
      .join('');
    return `<tr>${meta}${digit}${att}${sal}</tr>`;
  };
  const ramp = Array.from({ length: 11 }, (_, i) => {
    const [r, g, b] = heatColor(i / 10);
    return `rgb(${r},${g},${b}) ${i * 10}%`;
  }).join(', ');
  return `<p>${vits.length ? `For each ViT layer: how much the class token (the one the classifier reads) attends to each 7×7 patch, averaged over the heads, scaled so the most-attended patch is brightest; "self" is the share it keeps on itself.` : ''}
${cnns.length ? ` For the CNN: the saliency map, |∂ winning logit / ∂ pixel|, from one backward pass of our engine, scaled to its 99th percentile: raw gradients are speckled, but they show which strokes (and which empty places) would change the answer.` : ''}
Scale: <span class="ramp" style="background:linear-gradient(90deg, ${ramp})"></span> low → high.</p>
<div style="overflow-x:auto"><table class="explain">${head}${data.explained.map(row).join('')}</table></div>`;
}

function gallery(data: ReportData, m: ModelResult, pngs: (i: number) => string): string {
  const wrong = [...m.summary.misclassified].sort((a, b) => m.confidences[b] - m.confidences[a] || a - b);
  const shown = wrong.slice(0, GALLERY_LIMIT);
  const tiles = shown
    .map((i) => {
      const t = data.data.labels[i];
      const p = m.predictions[i];
      return `<figure class="tile" data-index="${i}" data-true="${t}" data-predicted="${p}" data-confidence="${m.confidences[i].toFixed(4)}" title="test image #${i}"><img src="${pngs(i)}" alt="${t} read as ${p}"><figcaption>${t} → <span class="wrong">${p}</span><br>${conf(m.confidences[i])}</figcaption></figure>`;
    })
    .join('');
  const more = wrong.length > shown.length ? `<p class="muted">${int(wrong.length - shown.length)} more not shown (the least confident).</p>` : '';
  return `<h3>${upper(m.name)}: ${int(wrong.length)} misclassified</h3><p class="muted">Most confident mistakes first. Caption: true → predicted, and the model's calibrated probability for its prediction.</p>
<div class="gallery" data-model="${esc(m.name)}" data-total="${wrong.length}">${tiles}</div>${more}`;
}

/** Most tiles each group of the disagreement gallery shows. */
export const DISAGREEMENT_GROUP_LIMIT = 120;

function disagreementGallery(data: ReportData, pngs: (i: number) => string): string {
  const [a, b] = data.models;
  if (!a || !b) return '<p class="muted">Only one model: nothing to compare.</p>';
  const labels = data.data.labels;
  const list = [...data.disagreements];
  const groups = [
    { key: `${a.name}-right`, title: `Only the ${upper(a.name)} is right`, items: list.filter((i) => a.predictions[i] === labels[i]) },
    { key: `${b.name}-right`, title: `Only the ${upper(b.name)} is right`, items: list.filter((i) => b.predictions[i] === labels[i]) },
    { key: 'both-wrong', title: 'Both wrong, differently', items: list.filter((i) => a.predictions[i] !== labels[i] && b.predictions[i] !== labels[i]) },
  ];
  const tile = (i: number) => {
    const t = labels[i];
    const side = (m: ModelResult) => {
      const p = m.predictions[i];
      return `${upper(m.name)} <span${p !== t ? ' class="wrong"' : ''}>${p}</span> ${conf(m.confidences[i])}`;
    };
    return `<figure class="tile disagree" data-index="${i}" data-true="${t}" data-${a.name}="${a.predictions[i]}" data-${b.name}="${b.predictions[i]}" title="test image #${i}"><img src="${pngs(i)}" alt="digit ${t}"><figcaption>true ${t}<br>${side(a)}<br>${side(b)}</figcaption></figure>`;
  };
  const sections = groups
    .map((g) => {
      // the wrong model's most confident mistakes first: the clearest cases
      const wrongConfidence = (i: number) => Math.max(a.predictions[i] !== labels[i] ? a.confidences[i] : 0, b.predictions[i] !== labels[i] ? b.confidences[i] : 0);
      const sorted = [...g.items].sort((x, y) => wrongConfidence(y) - wrongConfidence(x) || x - y);
      const shown = sorted.slice(0, DISAGREEMENT_GROUP_LIMIT);
      const more = sorted.length > shown.length ? `<p class="muted">${int(sorted.length - shown.length)} more not shown.</p>` : '';
      return `<h3>${esc(g.title)}: ${int(g.items.length)}</h3><div class="gallery" data-disagree-group="${esc(g.key)}" data-total="${g.items.length}">${shown.map(tile).join('')}</div>${more}`;
    })
    .join('');
  return `<p data-disagreements="${list.length}">The two models predict different digits for <strong>${int(list.length)}</strong> of ${int(data.data.count)} images: the ${upper(a.name)} is right on ${int(groups[0].items.length)} of them, the ${upper(b.name)} on ${int(groups[1].items.length)}, neither on ${int(groups[2].items.length)}. In each group, the most confident wrong answers come first.</p>
${sections}`;
}

/** The numbers of the report as JSON (no pixels), embedded for tests and scripts. */
export function reportJson(data: ReportData): unknown {
  return {
    generatedAt: data.generatedAt,
    count: data.data.count,
    data: data.dataName,
    backend: data.backend,
    machine: data.machine,
    models: data.models.map((m) => ({
      name: m.name,
      version: m.card.version,
      params: m.params,
      flopsPerImage: m.flopsPerImage,
      trainingSeconds: m.card.training?.seconds,
      accuracy: m.summary.accuracy,
      loss: m.summary.loss,
      rawLoss: m.calibration.rawLoss,
      temperature: m.calibration.temperature,
      ece: m.calibration.ece,
      confusion: m.summary.confusion,
      mostConfused: m.summary.mostConfused,
      misclassified: m.summary.misclassified,
      latencyMs: m.latencyMs,
      imagesPerSecond: m.imagesPerSecond,
      matchesCard: m.matchesCard,
    })),
    disagreements: data.disagreements,
    explained: data.explained.map((d) => ({ index: d.index, label: d.label, predictions: d.predictions })),
  };
}

/** Renders the report as one self-contained HTML page: inline CSS, SVG and PNG data URLs, no script. */
export function renderReport(data: ReportData): string {
  const cache = new Map<number, string>();
  const pngs = (i: number) => {
    let url = cache.get(i);
    if (!url) {
      url = digitPng(data.data.images.subarray(i * PIXELS, (i + 1) * PIXELS));
      cache.set(i, url);
    }
    return url;
  };
  const models = data.models;
  const headline = models.map((m) => `the ${upper(m.name)} gets <strong>${pct(m.summary.accuracy)}</strong> right (${int(m.summary.misclassified.length)} mistakes)`).join(' and ');
  const json = JSON.stringify(reportJson(data)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>digitlab report: ${models.map((m) => upper(m.name)).join(' vs ')} on MNIST</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>digitlab evaluation report</h1>
<p class="muted">${esc(data.generatedAt.replace('T', ' ').slice(0, 19))} UTC · ${int(data.data.count)} images of the MNIST ${esc(data.dataName)} · engine backend <code>${esc(data.backend)}</code> · ${esc(data.machine)}</p>
<p class="lede">On ${int(data.data.count)} test images ${headline}.</p>
<nav><a href="#compare">Comparison</a><a href="#confusion">Confusion</a><a href="#curves">Learning curves</a><a href="#calibration">Calibration</a><a href="#explain">What they look at</a><a href="#errors">Mistakes</a><a href="#disagree">Disagreements</a></nav>

<h2 id="compare">The models side by side</h2>
${comparisonTable(models, data)}
<p class="muted">Parameters, FLOPs and training time come from each model card (weights/&lt;name&gt;.json); latency, throughput, accuracy and loss are measured by this run. Timings depend on the machine and on what else it was doing.</p>
${data.load.average > data.load.cores * 0.75 ? `<p class="muted"><strong>The machine was busy</strong> when this report was built (load average ${data.load.average.toFixed(1)} on ${data.load.cores} cores), so its latency and throughput are pessimistic.</p>` : ''}

<h2 id="confusion">Confusion matrices</h2>
<p>Rows are the true digit, columns the prediction. The diagonal (blue) is shaded by the share of the row that is right; mistakes (red) on a log scale of their count.</p>
${confusionSection(models)}

<h2 id="curves">Learning curves</h2>
<p>Loss and accuracy per epoch from the training logs shipped with the weights (weights/&lt;name&gt;.log.jsonl). Solid lines: training; dashed: validation (a held-out part of the training set). The dotted vertical lines mark the epochs whose weights were kept (best validation accuracy).</p>
${curvesSection(models)}

<h2 id="calibration">Calibration</h2>
<p>Does "95% sure" mean right 95% of the time? Each model's logits are divided by a temperature fitted on the validation images (minimising the cross-entropy) before the softmax; this changes the probabilities, never the predicted digit. The bars are the accuracy of the test images in each confidence bin, the orange box the gap to their mean confidence, the dots the same for the raw softmax; a calibrated model's bars reach the diagonal. The expected calibration error (ECE) is the image-weighted mean of those gaps.</p>
${calibrationSection(models)}

<h2 id="explain">What the models look at</h2>
${explainSection(data)}

<h2 id="errors">Mistakes</h2>
${models.map((m) => gallery(data, m, pngs)).join('')}

<h2 id="disagree">Where the models disagree</h2>
${disagreementGallery(data, pngs)}

<footer>Rebuild with <code>pnpm report</code> (evaluates the shipped weights in weights/ and writes reports/report.html; the server serves it at /report). The numbers are also embedded in this page as JSON (<code>&lt;script type="application/json" id="report-data"&gt;</code>).</footer>
</main>
<script type="application/json" id="report-data">${json}</script>
</body>
</html>
`;
}
