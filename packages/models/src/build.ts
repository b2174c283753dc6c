import { Rng } from '@digitlab/tensor';
import { buildCnn } from './cnn.js';
import type { ModelConfig } from './config.js';
import type { Model } from './model.js';
import { buildVit } from './vit.js';

/** Builds a model from its config; the seed fixes the initial weights. */
export function buildModel(config: ModelConfig, seed: number): Model {
  const rng = new Rng(seed);
  return config.kind === 'cnn' ? buildCnn(config, rng) : buildVit(config, rng);
}
