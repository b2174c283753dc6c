import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { Backend, type Mode, Tensor, noGrad } from '@digitlab/tensor';
import { type AttentionMaps, type EpochLog, type EvaluationSummary, type MnistData, type Model, type ModelCard, type ModelName, type ReliabilityBin, evaluateModel, expectedCalibrationError, reliabilityBins, summarize, withTemperature, classTokenAttention, inputSaliency } from '@digitlab/models';

/** A model to report on: the shipped weights (or, in tests, any built model) with its card and log. */
export interface ReportModel {
  readonly name: ModelName;
  readonly card: ModelCard;
  readonly model: Model;
  /** One entry per epoch from weights/<name>.log.jsonl; empty when no log was shipped. */
  readonly log: readonly EpochLog[];
}

/** Everything measured for one model in this run. */
export interface ModelResult {
  readonly name: ModelName;
  readonly kind: 'cnn' | 'vit';
  readonly card: ModelCard;
  readonly params: number;
  readonly flopsPerImage: number;
  readonly log: readonly EpochLog[];
  /** Accuracy, loss (calibrated), confusion[true][predicted], most-confused pairs, misclassified indices. */
  readonly summary: EvaluationSummary;
  /** Predicted digit per evaluated image. */
  readonly predictions: Uint8Array;
  /** Calibrated probability of the predicted digit per evaluated image. */
  readonly confidences: Float32Array;
  /** The card's temperature (1 without one), this run's raw loss, and reliability bins and ECE of the raw and the calibrated probabilities. */
  readonly calibration: {
    readonly temperature: number;
    readonly rawLoss: number;
    readonly before: readonly ReliabilityBin[];
    readonly after: readonly ReliabilityBin[];
    readonly ece: { readonly before: number; readonly after: number };
  };
  /** Wall time of the batched evaluation, seconds (kernels compiled on the first batch included). */
  readonly evalSeconds: number;
  /** Images per second of the batched evaluation after its first batch. */
  readonly imagesPerSecond: number;
  /** Median wall time of one forward pass on one image, milliseconds (after warm-up). */
  readonly latencyMs: number;
  /** True when the run covered the whole test set and reproduced the card's test accuracy. */
  readonly matchesCard: boolean | null;
}

/** One digit explained by every model that can: ViT attention per layer, CNN input gradient. */
export interface ExplainedDigit {
  /** Index into the evaluated data. */
  readonly index: number;
  readonly label: number;
  /** Why it was picked, in words. */
  readonly reason: string;
  readonly predictions: Readonly<Record<string, { readonly digit: number; readonly confidence: number }>>;
  /** Per ViT: class-token attention [layer][patch] (averaged over heads) and to itself [layer]. */
  readonly attention: Readonly<Record<string, AttentionMaps>>;
  /** Per CNN: |∂ winning logit / ∂ pixel|, 784 values. */
  readonly saliency: Readonly<Record<string, Float32Array>>;
}

/** All the numbers and pictures' inputs of one report. */
export interface ReportData {
  readonly generatedAt: string;
  readonly data: MnistData;
  /** The evaluated images are data rows 0..count-1 of this split. */
  readonly dataName: string;
  readonly backend: Mode;
  readonly machine: string;
  /** 1-minute load average when the run started, and the core count: timings mean little on a busy machine. */
  readonly load: { readonly average: number; readonly cores: number };
  readonly batchSize: number;
  readonly models: readonly ModelResult[];
  /** Indices where the first two models predict different digits. */
  readonly disagreements: readonly number[];
  readonly explained: readonly ExplainedDigit[];
}

/** Options of collectReport. */
export interface CollectOptions {
  readonly models: readonly ReportModel[];
  readonly data: MnistData;
  readonly dataName?: string;
  readonly backend?: Mode;
  readonly poolSize?: number;
  /** Evaluation batch (default 500; the last batch is zero-padded). */
  readonly batchSize?: number;
  /** How many digits get attention / saliency maps (default 8). */
  readonly explainCount?: number;
  /** Timed single-image forward passes per model (default 15). */
  readonly latencyRuns?: number;
  readonly log?: (line: string) => void;
}

/** Reads a training log (one JSON object per line); later lines for the same epoch win (resumed runs). */
export function readTrainingLog(path: string): EpochLog[] {
  if (!existsSync(path)) return [];
  const byEpoch = new Map<number, EpochLog>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as EpochLog;
    byEpoch.set(e.epoch, e);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/** The training log shipped beside a model's weights. */
export function shippedLog(weightsDir: string, name: ModelName): EpochLog[] {
  return readTrainingLog(join(weightsDir, `${name}.log.jsonl`));
}

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function singleImageLatency(be: Backend, model: Model, data: MnistData, runs: number): Promise<number> {
  const one = (i: number) => new Tensor([1, 1, SIDE, SIDE], data.images.slice((i % data.count) * PIXELS, ((i % data.count) + 1) * PIXELS));
  return noGrad(async () => {
    for (let i = 0; i < 2; i++) await model.forward(be, one(i), { training: false });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await model.forward(be, one(i), { training: false });
      times.push(performance.now() - t0);
    }
    return median(times);
  });
}

/** The first two models' predictions differ at these indices. */
export function disagreementsOf(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/**
 * Picks the digits to explain: the first image of each of the often-confused digits that every
 * model gets right; then, per model, the disagreement where it is right and the other model is
 * most confidently wrong; then the images every model gets wrong, most confident first.
 */
export function pickDigits(data: MnistData, results: readonly ModelResult[], disagreements: readonly number[], count: number): Array<{ index: number; reason: string }> {
  const picked: Array<{ index: number; reason: string }> = [];
  const taken = new Set<number>();
  const take = (index: number | undefined, reason: string) => {
    if (index !== undefined && picked.length < count && !taken.has(index)) {
      taken.add(index);
      picked.push({ index, reason });
    }
  };
  const right = (r: ModelResult, i: number) => r.predictions[i] === data.labels[i];
  const name = (r: ModelResult) => (r.name === 'vit' ? 'ViT' : r.name.toUpperCase());
  const correctQuota = Math.ceil(count / 2);
  for (const digit of [3, 5, 8, 9, 4, 7, 2, 1, 0, 6]) {
    if (picked.length >= correctQuota) break;
    for (let i = 0; i < data.count; i++) {
      if (data.labels[i] === digit && results.every((r) => right(r, i))) {
        take(i, 'all models right');
        break;
      }
    }
  }
  const byConfidence = (xs: number[], conf: (i: number) => number) => [...xs].sort((a, b) => conf(b) - conf(a) || a - b);
  if (results.length >= 2) {
    for (const r of results) {
      const others = results.filter((o) => o !== r);
      const candidates = disagreements.filter((i) => right(r, i) && others.every((o) => !right(o, i)));
      take(byConfidence(candidates, (i) => Math.max(...others.map((o) => o.confidences[i])))[0], `only the ${name(r)} right`);
    }
  }
  const allWrong: number[] = [];
  for (let i = 0; i < data.count; i++) if (results.every((r) => !right(r, i))) allWrong.push(i);
  for (const i of byConfidence(allWrong, (k) => Math.min(...results.map((r) => r.confidences[k])))) take(i, 'every model wrong');
  for (const i of disagreements) take(i, 'the models disagree');
  for (let i = 0; i < data.count && picked.length < count; i++) take(i, 'first images');
  return picked;
}

/**
 * Evaluates every model on the data in batches, times it, and explains a few digits: the whole
 * measurement side of the report. Rendering is renderReport's job.
 */
export async function collectReport(options: CollectOptions): Promise<ReportData> {
  const { data, models } = options;
  const backend = options.backend ?? 'async';
  const batchSize = options.batchSize ?? 500;
  const say = options.log ?? (() => {});
  const loadAtStart = loadavg()[0];
  const be = new Backend(backend, { poolSize: options.poolSize });
  try {
    const results: ModelResult[] = [];
    for (const m of models) {
      const kind = m.model.config.kind;
      say(`${m.name}: evaluating ${data.count} images in batches of ${batchSize}`);
      // the first batch compiles the kernels; time it apart so throughput is the steady state
      const firstCount = Math.min(batchSize, data.count);
      const first = { ...data, count: firstCount, images: data.images.subarray(0, firstCount * PIXELS), labels: data.labels.subarray(0, firstCount) };
      const rest = { ...data, count: data.count - firstCount, images: data.images.subarray(firstCount * PIXELS), labels: data.labels.subarray(firstCount) };
      const t0 = performance.now();
      const ev1 = await evaluateModel(be, m.model, first, batchSize);
      const t1 = performance.now();
      const ev2 = rest.count > 0 ? await evaluateModel(be, m.model, rest, batchSize) : null;
      const t2 = performance.now();
      const predictions = new Uint8Array(data.count);
      const probabilities = new Float32Array(data.count * 10);
      const logits = new Float32Array(data.count * 10);
      const losses = new Float32Array(data.count);
      predictions.set(ev1.predictions);
      probabilities.set(ev1.probabilities);
      logits.set(ev1.logits);
      losses.set(ev1.losses);
      if (ev2) {
        predictions.set(ev2.predictions, firstCount);
        probabilities.set(ev2.probabilities, firstCount * 10);
        logits.set(ev2.logits, firstCount * 10);
        losses.set(ev2.losses, firstCount);
      }
      let correct = 0;
      let lossSum = 0;
      for (let i = 0; i < data.count; i++) {
        if (predictions[i] === data.labels[i]) correct++;
        lossSum += losses[i];
      }
      const raw = { count: data.count, accuracy: correct / data.count, loss: lossSum / data.count, predictions, probabilities, logits, losses };
      // what predict() answers: the card's temperature applied to the logits
      const temperature = m.card.calibration?.temperature ?? 1;
      const ev = withTemperature(raw, data.labels, temperature);
      const summary = summarize(ev, data.labels);
      const confidences = new Float32Array(data.count);
      for (let i = 0; i < data.count; i++) confidences[i] = ev.probabilities[i * 10 + predictions[i]];
      const before = reliabilityBins(raw.probabilities, data.labels, data.count);
      const after = reliabilityBins(ev.probabilities, data.labels, data.count);
      const calibration = { temperature, rawLoss: raw.loss, before, after, ece: { before: expectedCalibrationError(before), after: expectedCalibrationError(after) } };
      const steadySeconds = (t2 - t1) / 1000;
      const imagesPerSecond = ev2 ? rest.count / steadySeconds : firstCount / ((t1 - t0) / 1000);
      say(`${m.name}: accuracy ${(summary.accuracy * 100).toFixed(2)}%, loss ${summary.loss.toFixed(4)}, ${((t2 - t0) / 1000).toFixed(1)} s; timing one image`);
      const latencyMs = await singleImageLatency(be, m.model, data, options.latencyRuns ?? 15);
      const cardTest = m.card.metrics?.test;
      const matchesCard = data.split === 'test' && data.count === 10000 && cardTest?.count === 10000 ? Math.abs(cardTest.accuracy - summary.accuracy) < 1e-9 : null;
      results.push({
        name: m.name,
        kind,
        card: m.card,
        params: m.card.params ?? [...m.model.params.values()].reduce((n, t) => n + t.size, 0),
        flopsPerImage: m.card.flopsPerImage ?? m.model.flopsPerImage,
        log: m.log,
        summary,
        predictions,
        confidences,
        calibration,
        evalSeconds: (t2 - t0) / 1000,
        imagesPerSecond,
        latencyMs,
        matchesCard,
      });
    }
    const disagreements = results.length >= 2 ? disagreementsOf(results[0].predictions, results[1].predictions) : [];
    const picks = pickDigits(data, results, disagreements, options.explainCount ?? 8);
    say(`explaining ${picks.length} digits`);
    const images = new Float32Array(picks.length * PIXELS);
    picks.forEach((p, k) => images.set(data.images.subarray(p.index * PIXELS, (p.index + 1) * PIXELS), k * PIXELS));
    const attention: Record<string, AttentionMaps[]> = {};
    const saliency: Record<string, Float32Array[]> = {};
    for (const m of models) {
      if (picks.length === 0) break;
      if (m.model.config.kind === 'vit') attention[m.name] = await classTokenAttention(be, m.model, images, picks.length);
      else saliency[m.name] = await inputSaliency(be, m.model, images, picks.length);
    }
    const explained: ExplainedDigit[] = picks.map((p, k) => ({
      index: p.index,
      label: data.labels[p.index],
      reason: p.reason,
      predictions: Object.fromEntries(results.map((r) => [r.name, { digit: r.predictions[p.index], confidence: r.confidences[p.index] }])),
      attention: Object.fromEntries(Object.entries(attention).map(([name, maps]) => [name, maps[k]])),
      saliency: Object.fromEntries(Object.entries(saliency).map(([name, maps]) => [name, maps[k]])),
    }));
    return {
      generatedAt: new Date().toISOString(),
      data,
      dataName: options.dataName ?? `${data.split} set`,
      backend,
      machine: `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, load average ${loadAtStart.toFixed(2)} at the start of the run`,
      load: { average: loadAtStart, cores: cpus().length },
      batchSize,
      models: results,
      disagreements,
      explained,
    };
  } finally {
    be.destroy();
  }
}
