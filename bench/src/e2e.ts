/**
 * End-to-end figures: training images/s (forward, loss, backward, AdamW step at the preset's
 * batch), inference latency at batch 1 and throughput at batch 256, per model and backend, through
 * the inference plan (what serving runs) and the op-by-op forward pass beside it.
 * The shipped weights are used where weights/<model>.json exists, random initial weights before.
 * TF.js runs the same inference with the same weights (its logits checked against the engine's).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { Adam, Backend, PLACED_AFTER_CALLS, Rng, Tensor, backward, noGrad, softmaxCrossEntropy, type Mode } from '@digitlab/tensor';
import { ThreadedPlan, buildModel, loadClassifier, loadPreset, type CnnConfig, type Model, type ModelName, type VitConfig } from '@digitlab/models';
import type { Tensor as TfTensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { measureOrOnce, type MeasureOptions, type Timing } from './measure.js';
import { checkExecuted, relativeError, ValidationError } from './suite.js';
import { tf, useTfBackend, type TfBackend } from './tfjs.js';

/** One end-to-end measurement. */
export interface E2eResult {
  readonly task: 'train' | 'infer';
  /** A shipped model's name, or a preset timed for training only (e.g. cnn-ref). */
  readonly model: string;
  /** Engine mode or tfjs-<backend>. */
  readonly impl: string;
  readonly batch: number;
  /** "shipped <version>" or "random init". */
  readonly weights: string;
  readonly ran: string;
  readonly timing: Timing;
  readonly imagesPerSecond: number;
  /** Training only: 3 × forward FLOPs per image (forward, input and weight gradients) × images/s. */
  readonly gflops?: number;
  /** Where a training step's (or an inference call's) time goes: kernels by name, and the host's share. */
  readonly breakdown?: readonly { readonly name: string; readonly msPerStep: number; readonly share: number }[];
  /** Inference: kernel calls one forward pass makes. */
  readonly kernelCalls?: number;
  /** Inference plan: milliseconds its warm-up took (every kernel compiled, the worker threads started), as a `warm` loadClassifier spends them. */
  readonly warmMs?: number;
  /** Inference plan: the threads a large batch runs on, the calling thread included. */
  readonly threads?: number;
  readonly note?: string;
}

/** What the end-to-end part runs. */
export interface E2eOptions {
  readonly models: readonly ModelName[];
  /** Engine modes for training and inference. */
  readonly modes: readonly Mode[];
  /** Inference only, at these batches (gpu.js's cpu mode: a ViT training step there would take ~15 minutes). */
  readonly inferOnly?: readonly { readonly mode: Mode; readonly batch: number }[];
  /** TF.js backends for inference (TF.js cannot train the CNN on wasm, and takes minutes a step on cpu). */
  readonly tfBackends: readonly TfBackend[];
  readonly inferBatches: readonly number[];
  /** Training batch; the preset's when absent. */
  readonly trainBatch?: number;
  readonly measure: MeasureOptions;
  readonly slowCallMs: number;
  readonly weightsDir: string;
  /** Presets by model (tests use the tiny ones). */
  readonly presets?: Partial<Record<ModelName, string>>;
  /** Presets timed for training only, from random init: cnn-ref is the ~20 MFLOP/image CNN of the engine issue. */
  readonly trainPresets?: readonly string[];
  readonly poolSize?: number;
  /** Threads a large inference batch runs on (ThreadedPlan); one per core when absent. */
  readonly threads?: number;
  /** Skip the training rows (inference only: `--infer-only`). */
  readonly inferOnlyRows?: boolean;
  /** Skip the inference rows (training only: `--train-only`). */
  readonly trainOnlyRows?: boolean;
  readonly log?: (line: string) => void;
}

/** The model with the shipped weights when they exist, else random initial weights from the preset. */
async function loadModel(name: ModelName, opts: E2eOptions): Promise<{ model: Model; weights: string; trainBatch: number }> {
  const preset = loadPreset(opts.presets?.[name] ?? name);
  const trainBatch = opts.trainBatch ?? preset.train.batchSize;
  if (!opts.presets?.[name] && existsSync(join(opts.weightsDir, `${name}.json`))) {
    // the classifier verifies the weights against the card; its own backend is not used
    const c = await loadClassifier(name, { weightsDir: opts.weightsDir, backend: 'cpu' });
    c.close();
    return { model: c.model, weights: `shipped ${c.card.version}`, trainBatch };
  }
  return { model: buildModel(preset.model, preset.train.seed), weights: 'random init', trainBatch };
}

/** Seeded images in [0, 1] and labels. */
function batchOf(n: number, seed: number): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: n * PIXELS }, () => rng.uniform());
  const labels = Uint8Array.from({ length: n }, () => rng.int(10));
  return { images, labels };
}

/** Runs every end-to-end measurement asked for. */
export async function runEndToEnd(opts: E2eOptions): Promise<E2eResult[]> {
  const log = opts.log ?? (() => {});
  const results: E2eResult[] = [];
  const push = (r: E2eResult): void => {
    results.push(r);
    const t = r.timing;
    const spread = t.sampled ? `±${t.rme?.toFixed(1)}%, ${t.samples} samples` : '1 call';
    const gf = r.gflops === undefined ? '' : `, ${r.gflops.toFixed(2)} GFLOP/s effective`;
    log(`${r.task} ${r.model} ${r.impl} batch ${r.batch}: ${r.imagesPerSecond.toPrecision(4)} images/s${gf}, ${t.medianMs.toPrecision(4)} ms (${spread}) [${r.ran}]`);
  };

  for (const name of opts.models) {
    const { model, weights, trainBatch } = await loadModel(name, opts);
    const engineLogits = new Map<number, Float32Array>();
    for (const mode of opts.modes) {
      if (!opts.inferOnlyRows) push(await trainStep(name, model, mode, trainBatch, weights, opts));
      for (const batch of opts.trainOnlyRows ? [] : opts.inferBatches) {
        const r = await inference(name, model, mode, batch, weights, opts);
        push(r.result);
        engineLogits.set(batch, r.logits);
        push((await opByOpInference(name, model, mode, batch, weights, opts)).result);
      }
    }
    if (opts.trainOnlyRows) continue;
    for (const { mode, batch } of opts.inferOnly ?? []) push((await inference(name, model, mode, batch, weights, opts)).result);
    for (const backend of opts.tfBackends) {
      const ran = await useTfBackend(backend);
      for (const batch of opts.inferBatches) push(await tfInference(name, model, backend, ran, batch, weights, engineLogits.get(batch), opts));
    }
  }
  for (const name of opts.inferOnlyRows ? [] : (opts.trainPresets ?? [])) {
    const preset = loadPreset(name);
    const model = buildModel(preset.model, preset.train.seed);
    for (const mode of opts.modes) push(await trainStep(name, model, mode, opts.trainBatch ?? preset.train.batchSize, 'random init', opts));
  }
  return results;
}

/** A training step's images/s, and where its time goes (be.profile). The parameters are copied: the model is left as it was. */
async function trainStep(name: string, source: Model, mode: Mode, batch: number, weights: string, opts: E2eOptions): Promise<E2eResult> {
  const model = buildModel(source.config, 0);
  for (const [k, p] of model.params) p.data.set(source.params.get(k)!.data);
  const params = [...model.params.values()];
  const opt = new Adam(params, { lr: 1e-4, weightDecay: 1e-4, noDecay: model.noDecay });
  const rng = new Rng(7);
  const { images, labels } = batchOf(batch, 11);
  const x = new Tensor([batch, 1, SIDE, SIDE], images);
  const be = new Backend(mode, { poolSize: opts.poolSize });
  let steps = 0;
  let wallMs = 0;
  const step = async (): Promise<void> => {
    const t0 = performance.now();
    const logits = await model.forward(be, x, { training: true, rng });
    const loss = await softmaxCrossEntropy(be, logits, labels);
    await backward(loss);
    opt.step();
    if (!Number.isFinite(loss.data[0])) throw new ValidationError(`training ${name} on ${mode}: the loss is ${loss.data[0]}`);
    wallMs += performance.now() - t0;
    steps++;
  };
  try {
    await step();
    checkExecuted(`training ${name}`, mode, be.executed);
    // async places each kernel by its first calls: time the steps after every kernel runs where it stays
    if (mode === 'async') for (let i = 1; i < PLACED_AFTER_CALLS; i++) await step();
    be.profile = new Map();
    steps = 0;
    wallMs = 0;
    const timing = await measureOrOnce(`train ${name} ${mode}`, step, opts.measure, opts.slowCallMs * 4);
    const ran = checkExecuted(`training ${name}`, mode, be.executed);
    const stepMs = wallMs / steps;
    const kernels = [...be.profile.entries()].map(([k, v]) => ({ name: k, msPerStep: v.ms / steps, share: v.ms / steps / stepMs })).sort((a, b) => b.msPerStep - a.msPerStep);
    const kernelMs = kernels.reduce((s, k) => s + k.msPerStep, 0);
    const breakdown = [...kernels, { name: '(host: tape, optimizer, copies)', msPerStep: stepMs - kernelMs, share: 1 - kernelMs / stepMs }];
    const imagesPerSecond = (batch * 1000) / timing.medianMs;
    return { task: 'train', model: name, impl: mode, batch, weights, ran, timing, imagesPerSecond, gflops: (3 * model.flopsPerImage * imagesPerSecond) / 1e9, breakdown };
  } finally {
    be.destroy();
  }
}

/**
 * Inference as loadClassifier's predict runs it: the model's inference plan, compiled once, on
 * `threads` threads (one per core by default) for a large batch (ThreadedPlan), its logits held to the op-by-op pass's.
 * Reports the kernel calls of one forward pass and where one thread's time goes: each kernel,
 * and the host passes between them.
 */
async function inference(name: ModelName, model: Model, mode: Mode, batch: number, weights: string, opts: E2eOptions): Promise<{ result: E2eResult; logits: Float32Array }> {
  const { images } = batchOf(batch, 13);
  const be = new Backend(mode, { poolSize: opts.poolSize });
  const runner = new ThreadedPlan(model, be, opts.threads);
  try {
    const w0 = performance.now();
    await runner.warm();
    const warmMs = performance.now() - w0;
    const { plan } = runner;
    const logits = await runner.run(images, batch);
    const reference = (await noGrad(() => model.forward(be, new Tensor([batch, 1, SIDE, SIDE], images), { training: false }))).data;
    const err = relativeError(logits, reference);
    // the CNN's plan matches bit for bit, the ViT's to ~1e-6 (GELU and layer norm in float64)
    if (!(err <= 1e-4)) throw new ValidationError(`inference ${name} on ${mode}: the plan's logits differ from the op-by-op pass's by ${err.toExponential(3)}`);
    const ran = checkExecuted(`inference ${name}`, mode, be.executed);
    const timing = await measureOrOnce(`infer ${name} ${mode} ${batch}`, () => runner.run(images, batch), opts.measure, opts.slowCallMs);
    // the profile's clock reads cost a little: a separate pass of calls on the calling thread's plan, after the timed ones
    plan.ks.profile = new Map();
    const runs = batch === 1 ? 200 : 3;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) plan.run(images, batch);
    const callMs = (performance.now() - t0) / runs;
    const kernels = [...plan.ks.profile.entries()].map(([k, v]) => ({ name: `${k} (${v.calls / runs} calls)`, msPerStep: v.ms / runs, share: v.ms / runs / callMs })).sort((a, b) => b.msPerStep - a.msPerStep);
    const kernelMs = kernels.reduce((s, k) => s + k.msPerStep, 0);
    const breakdown = [...kernels, { name: '(host: passes between kernels, copies in and out)', msPerStep: callMs - kernelMs, share: 1 - kernelMs / callMs }];
    plan.ks.profile = null;
    const result: E2eResult = { task: 'infer', model: name, impl: mode, batch, weights, ran, timing, imagesPerSecond: (batch * 1000) / timing.medianMs, breakdown, kernelCalls: plan.callsFor(batch), warmMs, threads: runner.workers + 1 };
    return { result, logits };
  } finally {
    await runner.close();
    be.destroy();
  }
}

/** The op-by-op forward pass without the tape (the reference the plan is held to; training's forward). */
async function opByOpInference(name: ModelName, model: Model, mode: Mode, batch: number, weights: string, opts: E2eOptions): Promise<{ result: E2eResult; logits: Float32Array }> {
  const { images } = batchOf(batch, 13);
  const x = new Tensor([batch, 1, SIDE, SIDE], images);
  const be = new Backend(mode, { poolSize: opts.poolSize });
  try {
    const call = () => noGrad(() => model.forward(be, x, { training: false }));
    let logits = Float32Array.from((await call()).data);
    if (mode === 'async') for (let i = 1; i < PLACED_AFTER_CALLS; i++) logits = Float32Array.from((await call()).data);
    checkExecuted(`inference ${name}`, mode, be.executed);
    const calls = be.calls;
    await call();
    const kernelCalls = be.calls - calls;
    const timing = await measureOrOnce(`infer ${name} ${mode} op-by-op ${batch}`, call, opts.measure, opts.slowCallMs);
    const ran = checkExecuted(`inference ${name}`, mode, be.executed);
    return { result: { task: 'infer', model: name, impl: `${mode} op-by-op`, batch, weights, ran, timing, imagesPerSecond: (batch * 1000) / timing.medianMs, kernelCalls }, logits };
  } finally {
    be.destroy();
  }
}

/** The same inference on TF.js, logits held to the engine's. */
async function tfInference(name: ModelName, model: Model, backend: TfBackend, ran: string, batch: number, weights: string, expected: Float32Array | undefined, opts: E2eOptions): Promise<E2eResult> {
  const { images } = batchOf(batch, 13);
  const p = new Map<string, TfTensor>();
  for (const [k, t] of model.params) p.set(k, tf.tensor(t.data, [...t.shape]));
  const forward = model.config.kind === 'cnn' ? tfCnn(model.config, p) : tfVit(model.config, p);
  const x = tf.tensor2d(images, [batch, PIXELS]);
  try {
    const logits = tf.tidy(() => forward(x));
    const got = Float32Array.from(logits.dataSync());
    logits.dispose();
    let note: string | undefined;
    if (expected) {
      const err = relativeError(got, expected);
      // a different summation order (and our exp table) move logits by ~1e-6; a wrong layer moves them by ~1
      if (!(err <= 1e-3)) {
        note = `WRONG OUTPUT: logits differ from the engine's by ${err.toExponential(3)}`;
        opts.log?.(`WARNING ${name} on tfjs-${backend}: ${note}`);
      }
    }
    const timing = await measureOrOnce(`infer ${name} tfjs-${backend} ${batch}`, () => tf.dispose(tf.tidy(() => forward(x))), opts.measure, opts.slowCallMs);
    return { task: 'infer', model: name, impl: `tfjs-${backend}`, batch, weights, ran, timing, imagesPerSecond: (batch * 1000) / timing.medianMs, note };
  } finally {
    x.dispose();
    tf.dispose([...p.values()]);
  }
}

/** The CNN in TF.js ops (NHWC; weights converted from [OC, C, K, K]): x [B, 784] -> logits [B, 10]. */
function tfCnn(config: CnnConfig, p: Map<string, TfTensor>): (x: TfTensor) => TfTensor {
  const filters = config.conv.map((_, i) => tf.transpose(p.get(`conv${i}.weight`)!, [2, 3, 1, 0]) as Tensor4D);
  return (x) => {
    const B = x.shape[0];
    let h = tf.reshape(x, [B, SIDE, SIDE, 1]) as Tensor4D;
    config.conv.forEach((l, i) => {
      h = tf.fused.conv2d({ x: h, filter: filters[i], bias: p.get(`conv${i}.bias`), strides: l.stride ?? 1, pad: l.padding ? l.padding : 'valid', activation: 'relu' });
      if ((l.pool ?? 0) > 1) h = tf.maxPool(h, l.pool!, l.pool!, 'valid');
    });
    // the engine flattens NCHW
    let d = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [B, -1]) as Tensor2D;
    const n = config.dense.length + 1;
    for (let i = 0; i < n; i++) {
      d = tf.fused.matMul({ a: d, b: p.get(`dense${i}.weight`) as Tensor2D, bias: p.get(`dense${i}.bias`), activation: i < n - 1 ? 'relu' : 'linear' }) as Tensor2D;
    }
    return d;
  };
}

/** The ViT in TF.js ops, the engine's layout and GELU's tanh form: x [B, 784] -> logits [B, 10]. */
function tfVit(config: VitConfig, p: Map<string, TfTensor>): (x: TfTensor) => TfTensor {
  const { patch: P, dim: D, heads: H, headDim: dh, layers } = config;
  const A = H * dh;
  const G = SIDE / P;
  const T = G * G + 1;
  const w = (k: string) => p.get(k)! as Tensor2D;
  const dense = (x: TfTensor, name: string) => tf.fused.matMul({ a: x as Tensor2D, b: w(`${name}.weight`), bias: p.get(`${name}.bias`) });
  const norm = (x: TfTensor, name: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), p.get(`${name}.gain`)!), p.get(`${name}.bias`)!);
  };
  const c = Math.sqrt(2 / Math.PI);
  const gelu = (x: TfTensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c)), 1));
  return (x) => {
    const B = x.shape[0];
    // patches [B·G², P²]: patch (py, px) row-major, pixels (ky, kx) row-major
    const patches = tf.reshape(tf.transpose(tf.reshape(x, [B, G, P, G, P]), [0, 1, 3, 2, 4]), [B * G * G, P * P]);
    const emb = tf.reshape(dense(patches, 'embed'), [B, G * G, D]);
    const cls = tf.tile(tf.reshape(p.get('cls_token')!, [1, 1, D]), [B, 1, 1]);
    let h = tf.reshape(tf.add(tf.concat([cls, emb], 1), p.get('pos_embed')!), [B * T, D]);
    const heads = (t: TfTensor) => tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]);
    for (let i = 0; i < layers; i++) {
      const a = norm(h, `block${i}.ln1`);
      const q = heads(dense(a, `block${i}.attn.query`));
      const k = heads(dense(a, `block${i}.attn.key`));
      const v = heads(dense(a, `block${i}.attn.value`));
      const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)));
      const att = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * T, A]);
      h = tf.add(h, dense(att, `block${i}.attn.out`));
      h = tf.add(h, dense(gelu(dense(norm(h, `block${i}.ln2`), `block${i}.mlp.fc1`)), `block${i}.mlp.fc2`));
    }
    const cls0 = tf.reshape(tf.slice(tf.reshape(norm(h, 'norm'), [B, T, D]), [0, 0, 0], [B, 1, D]), [B, D]);
    return dense(cls0, 'head');
  };
}
