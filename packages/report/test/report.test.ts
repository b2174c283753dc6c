import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Backend, Tensor, noGrad } from '@digitlab/tensor';
import { type EpochLog, type MnistData, type Model, type ModelCard, type ModelName, buildModel, countParams, loadClassifier, loadMnist, loadPreset } from '@digitlab/models';
import { DISAGREEMENT_GROUP_LIMIT, GALLERY_LIMIT, REPO, type ReportData, type ReportModel, collectReport, crc32, encodePng, renderReport, shippedLog } from '../src/index.js';

/**
 * The report's numbers against an independent pass over a slice of the test set: forward
 * passes run here, softmax, argmax, confusion and loss counted here, then compared with what
 * the HTML says (its data- attributes and embedded JSON). Uses the shipped weights when both are
 * in weights/, otherwise untrained models built from the presets (the numbers must add up either way).
 */

const SLICE = 500;
const WEIGHTS = join(REPO, 'weights');
// REPORT_TEST_PRESETS=1 forces the untrained preset models
const SHIPPED = !process.env.REPORT_TEST_PRESETS && existsSync(join(WEIGHTS, 'cnn.json')) && existsSync(join(WEIGHTS, 'vit.json'));

function fakeCard(name: ModelName, model: Model): ModelCard {
  return {
    name,
    version: 'test',
    config: model.config as unknown as Record<string, unknown>,
    params: countParams(model),
    flopsPerImage: model.flopsPerImage,
    training: { seed: 0, epochs: 2, bestEpoch: 2, seconds: 60, backend: 'async', machine: 'test', recipe: {}, data: 'none' },
    weights: { file: `${name}.safetensors`, sha256: '0'.repeat(64), bytes: 0 },
    metrics: { validation: { accuracy: 0, loss: 0, count: 0 }, test: { count: 0, accuracy: 0, loss: 0, confusion: [], mostConfused: [], misclassified: [] } },
    createdAt: new Date(0).toISOString(),
  };
}

const fakeLog: EpochLog[] = [1, 2].map((epoch) => ({ epoch, lr: 0.001, trainLoss: 1 / epoch, trainAccuracy: 0.8 + 0.05 * epoch, valLoss: 0.8 / epoch, valAccuracy: 0.85 + 0.05 * epoch, seconds: 10, imagesPerSecond: 100, best: true }));

async function reportModels(): Promise<ReportModel[]> {
  const out: ReportModel[] = [];
  for (const name of ['cnn', 'vit'] as const) {
    if (SHIPPED) {
      const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'cpu' });
      clf.close();
      out.push({ name, card: clf.card, model: clf.model, log: shippedLog(WEIGHTS, name) });
    } else {
      const model = buildModel(loadPreset(name).model, 0);
      out.push({ name, card: fakeCard(name, model), model, log: fakeLog });
    }
  }
  return out;
}

/** Predictions, mean loss and top probabilities by plain forward passes and float64 softmax of logits / temperature, nothing from the report. */
async function independent(model: Model, data: MnistData, temperature: number): Promise<{ predictions: number[]; loss: number; confidences: number[] }> {
  const be = new Backend('async', { poolSize: 2 });
  try {
    const predictions: number[] = [];
    const confidences: number[] = [];
    let loss = 0;
    const B = 500;
    for (let s = 0; s < data.count; s += B) {
      const m = Math.min(B, data.count - s);
      const buf = new Float32Array(B * 784);
      buf.set(data.images.subarray(s * 784, (s + m) * 784));
      const logits = await noGrad(() => model.forward(be, new Tensor([B, 1, 28, 28], buf), { training: false }));
      for (let i = 0; i < m; i++) {
        const raw = Array.from(logits.data.subarray(i * 10, i * 10 + 10));
        const row = raw.map((v) => v / temperature);
        const top = Math.max(...row);
        const lse = top + Math.log(row.reduce((a, v) => a + Math.exp(v - top), 0));
        predictions.push(raw.indexOf(Math.max(...raw)));
        confidences.push(Math.exp(top - lse));
        loss += lse - row[data.labels[s + i]];
      }
    }
    return { predictions, loss: loss / data.count, confidences };
  } finally {
    be.destroy();
  }
}

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
/** Opening tags in html that carry class="cls" (exactly, or among others). */
const tagsWithClass = (html: string, cls: string): string[] => [...html.matchAll(new RegExp(`<[a-z]+[^>]*class="(?:[^"]* )?${cls}(?: [^"]*)?"[^>]*>`, 'g'))].map((m) => m[0]);
/** The part of html from the first match of start up to the next match of end. */
function between(html: string, start: string, end: string): string {
  const i = html.indexOf(start);
  expect(i, `${start} is in the report`).toBeGreaterThanOrEqual(0);
  const j = html.indexOf(end, i + start.length);
  return html.slice(i, j < 0 ? undefined : j);
}

describe(`the report on the first ${SLICE} test images (${SHIPPED ? 'shipped weights' : 'untrained preset models: no shipped weights yet'})`, () => {
  let data: MnistData;
  let report: ReportData;
  let html: string;
  const truth: Record<string, { predictions: number[]; loss: number; confidences: number[] }> = {};

  beforeAll(async () => {
    const test = loadMnist('test');
    data = { ...test, count: SLICE, images: test.images.subarray(0, SLICE * 784), labels: test.labels.subarray(0, SLICE) };
    const models = await reportModels();
    report = await collectReport({ models, data, dataName: 'test slice', backend: 'async', poolSize: 2, explainCount: 8, latencyRuns: 3 });
    html = renderReport(report);
    for (const m of models) truth[m.name] = await independent(m.model, data, m.card.calibration?.temperature ?? 1);
  });

  it('each confusion heat map sums to the slice size, its diagonal is the number right, every cell matches', () => {
    for (const name of ['cnn', 'vit']) {
      const svg = between(html, `<svg class="confusion" data-model="${name}"`, '</svg>');
      const cells = tagsWithClass(svg, 'cell').map((t) => ({ t: Number(attr(t, 'data-true')), p: Number(attr(t, 'data-predicted')), n: Number(attr(t, 'data-count')) }));
      expect(cells).toHaveLength(100);
      const expected = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
      truth[name].predictions.forEach((p, i) => expected[data.labels[i]][p]++);
      const right = truth[name].predictions.filter((p, i) => p === data.labels[i]).length;
      expect(cells.reduce((s, c) => s + c.n, 0)).toBe(SLICE);
      expect(cells.filter((c) => c.t === c.p).reduce((s, c) => s + c.n, 0)).toBe(right);
      for (const c of cells) expect(c.n, `${name} true ${c.t} predicted ${c.p}`).toBe(expected[c.t][c.p]);
      // the comparison table states the same accuracy and loss
      const acc = html.match(new RegExp(`data-model="${name}" data-metric="accuracy" data-value="([^"]+)"`))?.[1];
      expect(Number(acc)).toBeCloseTo(right / SLICE, 12);
      const loss = html.match(new RegExp(`data-model="${name}" data-metric="loss" data-value="([^"]+)"`))?.[1];
      expect(Number(loss)).toBeCloseTo(truth[name].loss, 3);
      const errors = html.match(new RegExp(`data-model="${name}" data-metric="errors" data-value="([^"]+)"`))?.[1];
      expect(Number(errors)).toBe(SLICE - right);
      // the most-confused list starts with the largest off-diagonal cell
      const maxOff = Math.max(0, ...cells.filter((c) => c.t !== c.p).map((c) => c.n));
      const first = between(html, `<ol class="pairs" data-model="${name}">`, '</ol>').match(/data-count="(\d+)"/)?.[1];
      if (maxOff > 0) expect(Number(first)).toBe(maxOff);
    }
  });

  it('each reliability diagram bins the calibrated top probabilities: counts, accuracy, confidence and ECE add up', () => {
    for (const name of ['cnn', 'vit']) {
      const svg = between(html, `<svg class="reliability" data-model="${name}"`, '</svg>');
      const bins = tagsWithClass(svg, 'bin').map((t) => ({ lower: Number(attr(t, 'data-lower')), n: Number(attr(t, 'data-count')), acc: Number(attr(t, 'data-accuracy')), conf: Number(attr(t, 'data-confidence')) }));
      expect(bins.reduce((s, b) => s + b.n, 0)).toBe(SLICE);
      let ece = 0;
      for (const b of bins) {
        const members = truth[name].confidences.flatMap((c, i) => (Math.min(14, Math.floor(c * 15)) === Math.round(b.lower * 15) ? [i] : []));
        expect(members.length, `${name} bin from ${b.lower}`).toBe(b.n);
        const acc = members.filter((i) => truth[name].predictions[i] === data.labels[i]).length / b.n;
        const conf = members.reduce((s, i) => s + truth[name].confidences[i], 0) / b.n;
        expect(b.acc).toBeCloseTo(acc, 12);
        expect(b.conf).toBeCloseTo(conf, 4);
        ece += (b.n / SLICE) * Math.abs(acc - conf);
      }
      const panel = between(html, `<div class="panel calibration" data-model="${name}" data-temperature=`, '>');
      expect(Number(attr(panel, 'data-ece-after'))).toBeCloseTo(ece, 4);
      expect(Number(attr(panel, 'data-temperature'))).toBe(report.models.find((m) => m.name === name)!.card.calibration?.temperature ?? 1);
      expect(tagsWithClass(svg, 'raw').length).toBeGreaterThan(0);
    }
  });

  it('the misclassified galleries list exactly the wrong images, most confident first, with true and predicted digits', () => {
    for (const name of ['cnn', 'vit']) {
      const wrong = truth[name].predictions.flatMap((p, i) => (p !== data.labels[i] ? [i] : []));
      const block = between(html, `<div class="gallery" data-model="${name}"`, '</div>');
      expect(Number(attr(block.slice(0, block.indexOf('>') + 1), 'data-total'))).toBe(wrong.length);
      const tiles = tagsWithClass(block, 'tile').map((t) => ({ i: Number(attr(t, 'data-index')), t: Number(attr(t, 'data-true')), p: Number(attr(t, 'data-predicted')), c: Number(attr(t, 'data-confidence')) }));
      expect(tiles).toHaveLength(Math.min(wrong.length, GALLERY_LIMIT));
      const wrongSet = new Set(wrong);
      for (const tile of tiles) {
        expect(wrongSet.has(tile.i)).toBe(true);
        expect(tile.t).toBe(data.labels[tile.i]);
        expect(tile.p).toBe(truth[name].predictions[tile.i]);
        expect(tile.p).not.toBe(tile.t);
        expect(tile.c).toBeCloseTo(truth[name].confidences[tile.i], 3);
      }
      for (let k = 1; k < tiles.length; k++) expect(tiles[k].c).toBeLessThanOrEqual(tiles[k - 1].c);
    }
  });

  it('the disagreement galleries hold the images where the two models differ, grouped by who is right', () => {
    const differ = truth.cnn.predictions.flatMap((p, i) => (p !== truth.vit.predictions[i] ? [i] : []));
    expect(Number(html.match(/<p data-disagreements="(\d+)"/)?.[1])).toBe(differ.length);
    const right = (name: string, i: number) => truth[name].predictions[i] === data.labels[i];
    const groups: Record<string, number[]> = {
      'cnn-right': differ.filter((i) => right('cnn', i)),
      'vit-right': differ.filter((i) => right('vit', i)),
      'both-wrong': differ.filter((i) => !right('cnn', i) && !right('vit', i)),
    };
    for (const [key, expected] of Object.entries(groups)) {
      const block = between(html, `<div class="gallery" data-disagree-group="${key}"`, '</div>');
      expect(Number(attr(block.slice(0, block.indexOf('>') + 1), 'data-total')), key).toBe(expected.length);
      const tiles = tagsWithClass(block, 'tile');
      expect(tiles).toHaveLength(Math.min(expected.length, DISAGREEMENT_GROUP_LIMIT));
      const allowed = new Set(expected);
      for (const t of tiles) {
        const i = Number(attr(t, 'data-index'));
        expect(allowed.has(i), `${key} holds #${i}`).toBe(true);
        expect(Number(attr(t, 'data-true'))).toBe(data.labels[i]);
        expect(Number(attr(t, 'data-cnn'))).toBe(truth.cnn.predictions[i]);
        expect(Number(attr(t, 'data-vit'))).toBe(truth.vit.predictions[i]);
      }
    }
  });

  it('the embedded JSON carries the same numbers', () => {
    const json = JSON.parse(between(html, '<script type="application/json" id="report-data">', '</script>').replace(/^[^>]*>/, '')) as {
      count: number;
      models: Array<{ name: string; accuracy: number; confusion: number[][]; misclassified: number[] }>;
    };
    expect(json.count).toBe(SLICE);
    for (const m of json.models) {
      expect(m.misclassified).toEqual(truth[m.name].predictions.flatMap((p, i) => (p !== data.labels[i] ? [i] : [])));
      expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(SLICE);
    }
  });

  it('explains eight digits: ViT attention rows are distributions, CNN saliency is a real gradient map', () => {
    expect(report.explained).toHaveLength(8);
    const layers = (report.models.find((m) => m.name === 'vit')!.card.config as { layers: number }).layers;
    for (const d of report.explained) {
      const att = d.attention.vit;
      expect(att.layers).toHaveLength(layers);
      att.layers.forEach((map, l) => {
        expect(map).toHaveLength(16);
        // the class token's softmax row: itself plus the 16 patches sum to 1
        expect(att.self[l] + map.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
      });
      const sal = d.saliency.cnn;
      expect(sal).toHaveLength(784);
      expect(sal.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      expect(Math.max(...sal)).toBeGreaterThan(0);
      expect(d.predictions.cnn.digit).toBe(truth.cnn.predictions[d.index]);
    }
    expect(tagsWithClass(html, 'meta')).toHaveLength(8);
  });

  it('is self-contained: every src is a data: URL, every href an anchor, no http(s) anywhere, no external scripts or styles', () => {
    expect(html).not.toMatch(/https?:\/\//i);
    const srcs = [...html.matchAll(/\ssrc\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]);
    expect(srcs.length).toBeGreaterThan(50);
    for (const s of srcs) expect(s.startsWith('data:image/png;base64,')).toBe(true);
    for (const m of html.matchAll(/\shref\s*=\s*["']?([^"'\s>]+)/gi)) expect(m[1].startsWith('#')).toBe(true);
    expect(html).not.toMatch(/<link\b|<script\b[^>]*\ssrc=|<iframe\b|@import|url\(/i);
  });
});

describe('png', () => {
  it('encodes rows with filter 0 and a valid CRC', () => {
    const px = Uint8Array.from({ length: 3 * 2 }, (_, i) => i * 40);
    const png = encodePng(px, 3, 2, 1);
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    const view = new DataView(png.buffer, png.byteOffset);
    expect(view.getUint32(16)).toBe(3);
    expect(view.getUint32(20)).toBe(2);
    expect(view.getUint32(29)).toBe(crc32(png.subarray(12, 29)));
    const idatLength = view.getUint32(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect(Array.from(raw)).toEqual([0, 0, 40, 80, 0, 120, 160, 200]);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
