import type { Tensor } from './tensor.js';

/** Options of Adam; weightDecay > 0 gives AdamW's decoupled decay. */
export interface AdamOptions {
  readonly lr?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  /** Parameters that are not decayed (biases, norms, embeddings), by identity. */
  readonly noDecay?: ReadonlySet<Tensor>;
}

/** The optimizer state a checkpoint needs to resume bit-for-bit. */
export interface OptimizerState {
  readonly step: number;
  readonly slots: Float32Array[][];
}

/** What train loops need of an optimizer. */
export interface Optimizer {
  /** Learning rate of the next step (schedules set it). */
  lr: number;
  /** Applies one update from the parameters' .grad and clears them. */
  step(): void;
  state(): OptimizerState;
  loadState(s: OptimizerState): void;
}

/** Adam (Kingma & Ba) with bias correction; AdamW when weightDecay > 0. */
export class Adam implements Optimizer {
  lr: number;
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;

  constructor(
    private readonly params: readonly Tensor[],
    private readonly opts: AdamOptions = {},
  ) {
    this.lr = opts.lr ?? 1e-3;
    this.b1 = opts.beta1 ?? 0.9;
    this.b2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.wd = opts.weightDecay ?? 0;
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  step(): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    const { b1, b2, eps, lr } = this;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      const g = p.grad;
      if (!g) continue;
      const w = p.data;
      const m = this.m[i];
      const v = this.v[i];
      const decay = this.wd > 0 && !this.opts.noDecay?.has(p) ? 1 - lr * this.wd : 1;
      for (let j = 0; j < w.length; j++) {
        const gj = g[j];
        m[j] = b1 * m[j] + (1 - b1) * gj;
        v[j] = b2 * v[j] + (1 - b2) * gj * gj;
        w[j] = w[j] * decay - (lr * (m[j] / c1)) / (Math.sqrt(v[j] / c2) + eps);
      }
      p.markUpdated();
      p.grad = null;
    }
  }

  state(): OptimizerState {
    return { step: this.t, slots: [this.m, this.v] };
  }

  loadState(s: OptimizerState): void {
    this.t = s.step;
    s.slots[0].forEach((a, i) => this.m[i].set(a));
    s.slots[1].forEach((a, i) => this.v[i].set(a));
  }
}

/** Plain SGD with optional momentum. */
export class Sgd implements Optimizer {
  lr: number;
  private t = 0;
  private readonly vel: Float32Array[];

  constructor(
    private readonly params: readonly Tensor[],
    private readonly opts: { lr?: number; momentum?: number } = {},
  ) {
    this.lr = opts.lr ?? 0.01;
    this.vel = params.map((p) => new Float32Array(p.size));
  }

  step(): void {
    this.t++;
    const mu = this.opts.momentum ?? 0;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      const g = p.grad;
      if (!g) continue;
      const vel = this.vel[i];
      for (let j = 0; j < g.length; j++) {
        vel[j] = mu * vel[j] + g[j];
        p.data[j] -= this.lr * vel[j];
      }
      p.markUpdated();
      p.grad = null;
    }
  }

  state(): OptimizerState {
    return { step: this.t, slots: [this.vel] };
  }

  loadState(s: OptimizerState): void {
    this.t = s.step;
    s.slots[0].forEach((a, i) => this.vel[i].set(a));
  }
}
