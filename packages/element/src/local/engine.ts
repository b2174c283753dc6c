/**
 * Both models run in this JavaScript context on @digitlab/tensor: the weights checked against
 * their cards' sha256 (SubtleCrypto), the backend chosen by probe (choose-backend.ts), then every
 * answer computed as the server computes it (the model's logits, the card's temperature, the
 * card's confidence threshold). The worker (worker.ts) drives it; nothing here touches the DOM.
 */
import { EXPECTED_KERNEL, Backend, Tensor, noGrad, runsOnDevice } from '@digitlab/tensor';
import {
  buildDevicePlan,
  buildModel,
  buildPlan,
  decodeSafetensors,
  explainImages,
  judgeAnswers,
  loadParams,
  softmaxRows,
  uncertaintyThreshold,
  type DeviceModelPlan,
  type InferencePlan,
  type Model,
  type ModelCard,
  type ModelConfig,
  type ModelName,
} from '@digitlab/models';
import type { Explanations } from '../explanation-overlay.ts';
import type { BrowserMode } from './modes.ts';

export const LOCAL_MODELS: readonly ModelName[] = ['cnn', 'vit'];

/** One model's card and weights as fetched. */
export interface ModelFiles {
  readonly card: ModelCard;
  readonly weights: ArrayBuffer;
}

/** Weights that do not match their card, or a card that is not one. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/** The hex sha256 of bytes, by SubtleCrypto (secure contexts only: https, localhost, 127.0.0.1). */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new IntegrityError('this page cannot check the weights: SubtleCrypto is only available on https:// or localhost pages');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Throws IntegrityError unless the weights' sha256 is the one the card states. */
export async function verifyWeights(name: string, files: ModelFiles): Promise<void> {
  const want = files.card?.weights?.sha256;
  if (typeof want !== 'string' || !/^[0-9a-f]{64}$/.test(want)) throw new IntegrityError(`the ${name}'s card states no sha256 for its weights`);
  const got = await sha256Hex(files.weights);
  if (got !== want) throw new IntegrityError(`the ${name}'s weights have sha256 ${got}, but its card states ${want}: they are not the weights the card describes`);
}

/**
 * Images per call of the forward pass on the GPU modes: every call is padded to this many, so each
 * kernel compiles once, at load (a kernel's source holds its sizes; a second batch size would
 * compile every kernel again, which on a software GPU takes minutes). The pass stays on the device
 * (buildDevicePlan: activations never leave it, one read of the logits per call). webasm runs the
 * inference plan instead (the server's: kernels sized for one image or a group of four, no
 * padding), with one wasm memory per kernel shape (PlanOptions.shareMemory): a page gets about a
 * hundred wasm memories in all, fewer than a memory per layer takes.
 */
export const CHUNK = 16;

/** One model ready to predict on one backend. */
interface Loaded {
  readonly name: ModelName;
  readonly card: ModelCard;
  readonly model: Model;
  readonly threshold: number;
  /** webasm: the inference plan, which runs synchronously (the GPU modes read back asynchronously). */
  plan?: InferencePlan;
  /** webgpu, webgl2: the forward pass on the device. */
  device?: DeviceModelPlan;
}

/** What one call answered, in the server's `/predict` shape (less the label, which the caller knows). */
export interface LocalAnswer {
  readonly probabilities: Partial<Record<ModelName, Float32Array>>;
  readonly uncertain: boolean[];
  readonly lowConfidence: string[][];
  /** Milliseconds of the models' compute for this call. */
  readonly ms: number;
}

/** Both models on one backend. */
export class LocalModels {
  private constructor(
    readonly mode: BrowserMode,
    private readonly be: Backend,
    private readonly models: readonly Loaded[],
  ) {}

  /** Checks the weights, builds the models and compiles them on `mode` with one image (so a failure shows here, not at the first answer). */
  static async load(mode: BrowserMode, files: Partial<Record<ModelName, ModelFiles>>): Promise<LocalModels> {
    const models: Loaded[] = [];
    for (const name of LOCAL_MODELS) {
      const f = files[name];
      if (!f) continue;
      await verifyWeights(name, f);
      const model = buildModel(f.card.config as unknown as ModelConfig, f.card.training.seed);
      try {
        loadParams(model, decodeSafetensors(new Uint8Array(f.weights)).tensors);
      } catch (e) {
        throw new IntegrityError(`the ${name}'s weights do not fit its card's config: ${(e as Error).message}`);
      }
      models.push({ name, card: f.card, model, threshold: uncertaintyThreshold(f.card) });
    }
    if (models.length === 0) throw new IntegrityError('the server offered no model to run here');
    const be = new Backend(mode);
    const local = new LocalModels(mode, be, models);
    try {
      for (const m of models) {
        if (mode === 'webasm') m.plan = buildPlan(m.model, be, { shareMemory: true });
        else if (runsOnDevice(be)) m.device = await buildDevicePlan(m.model, be, CHUNK);
      }
      await local.predict(new Float32Array(784), 1);
    } catch (e) {
      local.destroy();
      throw e;
    }
    return local;
  }

  /** The models loaded, with their versions. */
  get versions(): Partial<Record<ModelName, string>> {
    return Object.fromEntries(this.models.map((m) => [m.name, m.card.version]));
  }

  /**
   * The gpu.js kernel classes that ran so far, and whether each is the one the mode promises
   * (gpu.js can fall back to another class without an error).
   */
  kernels(): { classes: string[]; expected: boolean } {
    const classes = [...this.be.executed];
    return { classes, expected: classes.length > 0 && classes.every((c) => c === EXPECTED_KERNEL[this.mode]) };
  }

  /** Calibrated probabilities of every model (or `only` one) for `count` images (count × 784 values in [0, 1]). */
  async predict(images: Float32Array, count: number, only?: ModelName): Promise<LocalAnswer> {
    if (images.length < count * 784) throw new RangeError(`predict: ${count} images need ${count * 784} values, got ${images.length}`);
    const started = performance.now();
    const probabilities: Partial<Record<ModelName, Float32Array>> = {};
    const models = only ? this.models.filter((m) => m.name === only) : this.models;
    for (const m of models) probabilities[m.name] = softmaxRows(await this.logits(m, images, count), count, 10, m.card.calibration?.temperature ?? 1);
    const ms = performance.now() - started;
    const doubts = judgeAnswers(
      models.map((m) => ({ name: m.name, probabilities: probabilities[m.name]!, threshold: m.threshold })),
      count,
    );
    const { expected, classes } = this.kernels();
    if (!expected) throw new Error(`the ${this.mode} backend ran on ${classes.join(', ') || 'nothing'}, not ${EXPECTED_KERNEL[this.mode]}`);
    return { probabilities, uncertain: doubts.map((d) => d.uncertain), lowConfidence: doubts.map((d) => [...d.lowConfidence]), ms };
  }

  /**
   * Each model's map of each of `count` images (CNN saliency, ViT class-token attention), computed
   * by `explainImages` of @digitlab/models as the server's `?explain=1` computes them, and rounded
   * as the server sends them (3 decimals).
   */
  async explain(images: Float32Array, count: number): Promise<Explanations[]> {
    const out: Explanations[] = Array.from({ length: count }, () => ({ cnn: null, vit: null }));
    for (const m of this.models) {
      const maps = await explainImages(this.be, m.model, images, count);
      maps.forEach((e, i) => (out[i][m.name] = { kind: e.kind, map: Array.from(e.map, (v) => Math.round(v * 1000) / 1000) }));
    }
    return out;
  }

  /** The raw logits [count, 10] of model `name` (before the card's temperature). */
  async logitsOf(name: ModelName, images: Float32Array, count: number): Promise<Float32Array> {
    const m = this.models.find((l) => l.name === name);
    if (!m) throw new RangeError(`logitsOf: no ${name} loaded (loaded: ${this.models.map((l) => l.name).join(', ')})`);
    return this.logits(m, images, count);
  }

  private async logits(m: Loaded, images: Float32Array, count: number): Promise<Float32Array> {
    return m.plan ? m.plan.run(images, count) : this.forward(m, images, count);
  }

  /** What the device passes have read back so far (webgpu, webgl2; zeros on webasm): a prediction reads only its logits. */
  deviceReads(): { reads: number; values: number } {
    const all = { reads: 0, values: 0 };
    for (const m of this.models) {
      all.reads += m.device?.reads.reads ?? 0;
      all.values += m.device?.reads.values ?? 0;
    }
    return all;
  }

  /** The forward pass on the device in chunks of CHUNK images, the last one padded (op by op where a mode has no device plan). */
  private async forward(m: Loaded, images: Float32Array, count: number): Promise<Float32Array> {
    const logits = new Float32Array(count * 10);
    const batch = new Float32Array(CHUNK * 784);
    for (let s = 0; s < count; s += CHUNK) {
      const n = Math.min(CHUNK, count - s);
      batch.fill(0).set(images.subarray(s * 784, (s + n) * 784));
      const out = m.device ? await m.device.run(batch) : (await noGrad(() => m.model.forward(this.be, new Tensor([CHUNK, 1, 28, 28], batch), { training: false }))).data;
      logits.set(out.subarray(0, n * 10), s * 10);
    }
    return logits;
  }

  /** Frees the kernels (and the GPU resources behind them). */
  destroy(): void {
    for (const m of this.models) {
      m.plan?.destroy();
      m.device?.destroy();
    }
    this.be.destroy();
  }
}
