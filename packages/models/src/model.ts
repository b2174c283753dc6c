import { type Backend, type Rng, Tensor } from '@digitlab/tensor';
import type { ModelConfig } from './config.js';

/** What a forward pass needs besides the images. */
export interface ForwardContext {
  readonly training: boolean;
  /** Drives dropout; required when training with dropout > 0. */
  readonly rng?: Rng;
  /** Receives each attention layer's probabilities [B, heads, T, T] (ViT only; for the report). */
  readonly onAttention?: (layer: number, probs: Float32Array) => void;
}

/** A model built from a config: named parameters and a forward pass from images to logits. */
export interface Model {
  readonly config: ModelConfig;
  /** Parameters by name, in a fixed order (the safetensors names). */
  readonly params: ReadonlyMap<string, Tensor>;
  /** Parameters AdamW must not decay (biases, norm gains, embeddings). */
  readonly noDecay: ReadonlySet<Tensor>;
  /** images: [B, 1, 28, 28] in [0, 1] → logits [B, 10]. */
  forward(be: Backend, images: Tensor, ctx: ForwardContext): Promise<Tensor>;
  /** Multiply-adds × 2 of one forward pass on one image. */
  readonly flopsPerImage: number;
}

/** Collects parameters in creation order; init draws from the one seeded generator. */
export class ParamStore {
  readonly params = new Map<string, Tensor>();
  readonly noDecay = new Set<Tensor>();

  constructor(private readonly rng: Rng) {}

  /** He-normal weights (std √(2/fanIn)), right for ReLU/GELU layers. */
  he(name: string, shape: number[], fanIn: number): Tensor {
    const std = Math.sqrt(2 / fanIn);
    return this.add(name, shape, () => this.rng.normal() * std, false);
  }

  /** Normal(0, std) weights, e.g. for embeddings. */
  normal(name: string, shape: number[], std: number, decay = true): Tensor {
    return this.add(name, shape, () => this.rng.normal() * std, !decay);
  }

  /** Constant-filled parameter (biases 0, norm gains 1), never decayed. */
  constant(name: string, shape: number[], value: number): Tensor {
    return this.add(name, shape, () => value, true);
  }

  private add(name: string, shape: number[], init: () => number, noDecay: boolean): Tensor {
    if (this.params.has(name)) throw new Error(`duplicate parameter ${name}`);
    const t = new Tensor(shape, undefined, true);
    for (let i = 0; i < t.size; i++) t.data[i] = init();
    this.params.set(name, t);
    if (noDecay) this.noDecay.add(t);
    return t;
  }
}

/** Total number of parameter values. */
export function countParams(m: Model): number {
  let n = 0;
  for (const t of m.params.values()) n += t.size;
  return n;
}
