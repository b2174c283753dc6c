/**
 * The layer shapes the kernels are benchmarked at, derived from the model presets
 * (packages/models/configs/*.json) so the benchmark follows the shipped models when they change.
 */
import { SIDE } from '@digitlab/digit-csv';
import { loadPreset, type CnnConfig, type VitConfig } from '@digitlab/models';

/** One convolution layer as the kernels see it (NCHW, weight [OC, C, K, K]). */
export interface ConvShape {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly OC: number;
  readonly K: number;
  readonly stride: number;
  readonly pad: number;
  /** Max-pool window after the ReLU (0: none). */
  readonly pool: number;
}

/** A dense layer: x [rows, inputs] · w [inputs, units]. */
export interface DenseShape {
  readonly inputs: number;
  readonly units: number;
}

/** Everything the CNN's kernels run at. */
export interface CnnShapes {
  readonly batch: number;
  readonly conv: readonly ConvShape[];
  readonly dense: readonly DenseShape[];
}

/** Everything the ViT's kernels run at (tokens include the class token). */
export interface VitShapes {
  readonly batch: number;
  readonly tokens: number;
  readonly patchPixels: number;
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly mlp: number;
}

/** The shapes of both models. */
export interface ModelShapes {
  readonly cnn: CnnShapes;
  readonly vit: VitShapes;
}

/** CNN layer shapes for a config at a batch size (28x28 single-channel input). */
export function cnnShapes(config: CnnConfig, batch: number): CnnShapes {
  let [c, h, w] = [1, SIDE, SIDE];
  const conv = config.conv.map((l): ConvShape => {
    const s: ConvShape = { C: c, H: h, W: w, OC: l.filters, K: l.kernel, stride: l.stride ?? 1, pad: l.padding ?? 0, pool: l.pool ?? 0 };
    h = Math.floor((h + 2 * s.pad - s.K) / s.stride) + 1;
    w = Math.floor((w + 2 * s.pad - s.K) / s.stride) + 1;
    if (s.pool > 1) {
      h = Math.floor(h / s.pool);
      w = Math.floor(w / s.pool);
    }
    c = l.filters;
    return s;
  });
  let width = c * h * w;
  const dense = [...config.dense, 10].map((units): DenseShape => {
    const d = { inputs: width, units };
    width = units;
    return d;
  });
  return { batch, conv, dense };
}

/** ViT shapes for a config at a batch size. */
export function vitShapes(config: VitConfig, batch: number): VitShapes {
  return {
    batch,
    tokens: (SIDE / config.patch) ** 2 + 1,
    patchPixels: config.patch * config.patch,
    dim: config.dim,
    heads: config.heads,
    headDim: config.headDim,
    mlp: config.mlp,
  };
}

/**
 * Shapes from two presets (by name in packages/models/configs, or path). The batch is the
 * presets' training batch unless given.
 */
export function presetShapes(cnnPreset = 'cnn', vitPreset = 'vit', batch?: number): ModelShapes {
  const c = loadPreset(cnnPreset);
  const v = loadPreset(vitPreset);
  if (c.model.kind !== 'cnn') throw new Error(`preset ${cnnPreset} is not a cnn`);
  if (v.model.kind !== 'vit') throw new Error(`preset ${vitPreset} is not a vit`);
  return { cnn: cnnShapes(c.model, batch ?? c.train.batchSize), vit: vitShapes(v.model, batch ?? v.train.batchSize) };
}
