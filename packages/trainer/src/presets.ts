/** The presets the trainer offers (the CLI's own files in @digitlab/models/configs) and the form's edits of them. */
import type { ModelConfig, Preset } from '@digitlab/models';
import cnnSmall from '@digitlab/models/configs/cnn-small.json' with { type: 'json' };
import tinyCnn from '@digitlab/models/configs/tiny-cnn.json' with { type: 'json' };
import tinyVit from '@digitlab/models/configs/tiny-vit.json' with { type: 'json' };
import cnn from '@digitlab/models/configs/cnn.json' with { type: 'json' };
import vit from '@digitlab/models/configs/vit.json' with { type: 'json' };

/** Preset name → preset, smallest first within each kind. */
export const PRESETS: Readonly<Record<string, Preset>> = {
  'cnn-small': cnnSmall as Preset,
  'tiny-cnn': tinyCnn as Preset,
  'tiny-vit': tinyVit as Preset,
  cnn: cnn as Preset,
  vit: vit as Preset,
};

export const DEFAULT_PRESET = 'cnn-small';

/** What the form changes in a preset before training. */
export interface PresetEdits {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Multiplies every layer's width (CNN filters and dense units; ViT dim and MLP). */
  readonly width: number;
  readonly dropout: number;
}

const scaled = (n: number, f: number, multiple = 1): number => Math.max(multiple, Math.round((n * f) / multiple) * multiple);

/** The model with its widths multiplied by `f` (a ViT keeps its heads; head width follows dim). */
export function widen(m: ModelConfig, f: number): ModelConfig {
  if (f === 1) return m;
  if (m.kind === 'cnn') return { ...m, conv: m.conv.map((c) => ({ ...c, filters: scaled(c.filters, f) })), dense: m.dense.map((d) => scaled(d, f)) };
  const dim = scaled(m.dim, f, m.heads);
  return { ...m, dim, headDim: dim / m.heads, mlp: scaled(m.mlp, f) };
}

/**
 * The preset with the form's edits. A warm-up longer than the planned run is cut to a tenth of
 * it, so a one-epoch run reaches its peak learning rate and then decays.
 */
export function editPreset(base: Preset, e: PresetEdits): Preset {
  const warmupEpochs = base.train.warmupEpochs >= e.epochs ? e.epochs / 10 : base.train.warmupEpochs;
  return {
    model: { ...widen(base.model, e.width), dropout: e.dropout },
    train: { ...base.train, epochs: e.epochs, batchSize: e.batchSize, lr: e.lr, warmupEpochs },
  };
}
