/**
 * The kernel cases: each op's forward and backward at the shapes a model runs them at, as three
 * interchangeable implementations over the same inputs:
 *   - the float64 plain-TypeScript reference (`@digitlab/tensor/reference`), which also
 *     gives the expected outputs;
 *   - the engine on a gpu.js Backend (the op's public function, backward through its tape entry,
 *     as training runs it);
 *   - TensorFlow.js, in its native layout (NHWC, HWIO), the way its own gradient functions would
 *     call its kernels.
 */
import {
  Backend,
  Rng,
  Tensor,
  attention,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  convGeometry,
  gelu,
  layerNorm,
  matmul,
  maxPool2d,
  relu,
  softmax,
  softmaxCrossEntropy,
} from '@digitlab/tensor';
import {
  attentionBackwardRef,
  attentionRef,
  conv2dBackwardRef,
  conv2dRef,
  geluBackwardRef,
  geluRef,
  layerNormBackwardRef,
  layerNormRef,
  matmulBackwardRef,
  matmulRef,
  maxPoolBackwardRef,
  maxPoolRef,
  reluBackwardRef,
  reluRef,
  softmaxBackwardRef,
  softmaxCrossEntropyBackwardRef,
  softmaxCrossEntropyRef,
  softmaxRef,
} from '@digitlab/tensor/reference';
import type { Tensor as TfTensor, Tensor4D } from '@tensorflow/tfjs';
import type { ModelShapes } from './shapes.js';
import { hwioToOihw, nchwToNhwc, nhwcToNchw, oihwToHwio } from './layout.js';
// type only: the browser bundle imports this file, and must not pull TF.js in
import type { Tf } from './tfjs.js';

/** A flat array and its shape. */
export interface Arr {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
export type Inputs = Readonly<Record<string, Arr>>;
export type Outputs = Record<string, Float32Array>;
export type RefOutputs = Record<string, Float64Array>;

/** A TF.js implementation of a case, its tensors built once. */
export interface TfRun {
  /** One timed call: runs the kernels and frees what they made. */
  run(): void;
  /** The outputs in digitlab's layout (for validation; not timed). */
  outputs(): Outputs;
  /** Frees the input tensors. */
  dispose(): void;
}

/** The float64 reference of a case; cases with the same key share its inputs, outputs and timing. */
export interface Reference {
  readonly key: string;
  /** FLOPs of one reference call (it may compute more than the case: e.g. every conv gradient at once). */
  readonly flops: number | null;
  readonly note?: string;
  run(x: Inputs): RefOutputs;
}

/** One op, one pass, one shape. */
export interface KernelCase {
  readonly id: string;
  readonly model: 'cnn' | 'vit' | 'cnn+vit';
  readonly op: string;
  /** forward, backward, grad input, grad weight */
  readonly pass: string;
  readonly shape: string;
  /** Multiply-adds × 2 of the case's outputs; null for memory-bound ops (elementwise, norms, pooling). */
  readonly flops: number | null;
  /** The outputs compared against the reference, by name. */
  readonly outputs: readonly string[];
  /** Largest |engine − reference| allowed, relative to max(1, |reference|∞). */
  readonly tolerance: number;
  /** The inputs (seeded, memoised: cases sharing a reference share them). */
  inputs(): Inputs;
  readonly reference: Reference;
  /** Prepares the engine on be; returns one call, which yields the outputs. */
  engine(be: Backend, x: Inputs): Promise<() => Promise<Outputs>>;
  /** The TF.js equivalent, where TF.js has one. */
  tfjs?(tf: Tf, x: Inputs): TfRun;
}

const TOLERANCE = 1e-4;

/** Seeded uniform(-1, 1) float32 values. */
function uniform(rng: Rng, shape: readonly number[]): Arr {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform() * 2 - 1;
  return { shape, data };
}

/** Memoises an input set: built on first use, shared by every case that holds the thunk. */
function lazy(seed: number, make: (rng: Rng) => Record<string, Arr>): () => Inputs {
  let cached: Inputs | null = null;
  return () => (cached ??= make(new Rng(seed)));
}

const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;

function tensors(x: Inputs, grad: readonly string[]): Record<string, Tensor> {
  const t: Record<string, Tensor> = {};
  for (const [name, a] of Object.entries(x)) t[name] = new Tensor(a.shape, a.data, grad.includes(name));
  return t;
}

/** The engine op as inference runs it: no input requires a gradient, nothing is recorded. */
async function engineForward(be: Backend, x: Inputs, op: (t: Record<string, Tensor>) => Promise<Tensor>): Promise<() => Promise<Outputs>> {
  const t = tensors(x, []);
  return async () => ({ y: (await op(t)).data });
}

/**
 * The engine op's backward as training runs it: one forward with the inputs in `grads`
 * (output name → input name) requiring gradients, then each call replays the op's tape entry
 * with the output gradient x.dy and collects the inputs' gradients.
 */
async function engineBackward(be: Backend, x: Inputs, op: (t: Record<string, Tensor>) => Promise<Tensor>, grads: Readonly<Record<string, string>>): Promise<() => Promise<Outputs>> {
  const t = tensors(x, Object.values(grads));
  const out = await op(t);
  const node = out.node;
  if (!node) throw new Error('the op recorded no backward');
  const dy = x.dy.data;
  return async () => {
    for (const name of Object.values(grads)) t[name].grad = null;
    await node.backward(dy);
    const o: Outputs = {};
    for (const [outName, inName] of Object.entries(grads)) {
      const g = t[inName].grad;
      if (!g) throw new Error(`no gradient reached ${inName}`);
      o[outName] = g;
    }
    return o;
  };
}

/** A TF.js run from a function building the outputs (inside tf.tidy) and their conversion to our layout. */
function tfRun(tf: Tf, held: readonly TfTensor[], make: () => TfTensor[], toOurs: (d: Float32Array[]) => Outputs): TfRun {
  return {
    run() {
      tf.dispose(tf.tidy(make));
    },
    outputs() {
      const r = tf.tidy(make);
      const d = r.map((t) => Float32Array.from(t.dataSync()));
      tf.dispose(r);
      return toOurs(d);
    },
    dispose() {
      tf.dispose([...held]);
    },
  };
}

/** Every kernel case of both models at the given shapes. */
export function kernelCases(s: ModelShapes): KernelCase[] {
  return [...cnnCases(s), ...vitCases(s), ...lossCases(s)];
}

function cnnCases(s: ModelShapes): KernelCase[] {
  const { batch: B, conv, dense } = s.cnn;
  const cases: KernelCase[] = [];
  conv.forEach((l, i) => {
    const g = convGeometry([B, l.C, l.H, l.W], [l.OC, l.C, l.K, l.K], { stride: l.stride, padding: l.pad });
    const macs = B * l.OC * g.OH * g.OW * l.C * l.K * l.K;
    const xShape = [B, l.C, l.H, l.W];
    const wShape = [l.OC, l.C, l.K, l.K];
    const yShape = [B, l.OC, g.OH, g.OW];
    const inputs = lazy(100 + i, (rng) => ({ x: uniform(rng, xShape), w: uniform(rng, wShape), b: uniform(rng, [l.OC]), dy: uniform(rng, yShape) }));
    const shape = `x${fmt(xShape)} w${fmt(wShape)}`;
    const base = { model: 'cnn' as const, op: 'conv2d', shape, flops: 2 * macs, tolerance: TOLERANCE, inputs };
    const backwardRef: Reference = {
      key: `cnn.conv${i}.backward`,
      flops: 4 * macs,
      note: 'dx, dw and db together',
      run: (x) => {
        const r = conv2dBackwardRef(x.dy.data, x.x.data, x.w.data, g);
        return { dx: r.dx, dw: r.dw };
      },
    };
    // TF.js: NHWC activations, HWIO filters
    const tfInputs = (tf: Tf, x: Inputs) => ({
      x: tf.tensor4d(nchwToNhwc(x.x.data, B, l.C, l.H, l.W), [B, l.H, l.W, l.C]),
      w: tf.tensor4d(oihwToHwio(x.w.data, l.OC, l.C, l.K, l.K), [l.K, l.K, l.C, l.OC]),
      b: tf.tensor1d(x.b.data),
      dy: tf.tensor4d(nchwToNhwc(x.dy.data, B, l.OC, g.OH, g.OW), [B, g.OH, g.OW, l.OC]),
    });
    const pad = l.pad === 0 ? ('valid' as const) : l.pad;
    cases.push({
      ...base,
      id: `cnn/conv${i} forward`,
      pass: 'forward',
      outputs: ['y'],
      reference: { key: `cnn.conv${i}.forward`, flops: 2 * macs, run: (x) => ({ y: conv2dRef(x.x.data, x.w.data, x.b.data, g) }) },
      engine: async (be, x) => async () => ({ y: await conv2dForward(be, x.x.data, x.w.data, x.b.data, g) }),
      tfjs: (tf, x) => {
        const t = tfInputs(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.fused.conv2d({ x: t.x, filter: t.w, bias: t.b, strides: l.stride, pad })], ([y]) => ({
          y: nhwcToNchw(y, B, l.OC, g.OH, g.OW),
        }));
      },
    });
    // the first layer's input is the image: training never asks for its gradient
    if (i > 0) {
      cases.push({
        ...base,
        id: `cnn/conv${i} grad input`,
        pass: 'grad input',
        outputs: ['dx'],
        reference: backwardRef,
        engine: async (be, x) => async () => ({ dx: await conv2dBackwardInput(be, x.dy.data, x.w.data, g) }),
        tfjs: (tf, x) => {
          const t = tfInputs(tf, x);
          return tfRun(tf, Object.values(t), () => [tf.conv2dTranspose(t.dy, t.w, [B, l.H, l.W, l.C], l.stride, pad)], ([dx]) => ({
            dx: nhwcToNchw(dx, B, l.C, l.H, l.W),
          }));
        },
      });
    }
    cases.push({
      ...base,
      id: `cnn/conv${i} grad weight`,
      pass: 'grad weight',
      outputs: ['dw'],
      reference: backwardRef,
      engine: async (be, x) => async () => ({ dw: await conv2dBackwardWeight(be, x.dy.data, x.x.data, g) }),
      tfjs: (tf, x) => {
        const t = tfInputs(tf, x);
        // TF.js has no public op for the filter gradient; its conv2d gradient calls this kernel
        const attrs = { strides: l.stride, pad, dataFormat: 'NHWC', filterShape: [l.K, l.K, l.C, l.OC] };
        return tfRun(tf, Object.values(t), () => [tf.engine().runKernel('Conv2DBackpropFilter', { x: t.x, dy: t.dy }, attrs) as TfTensor], ([dw]) => ({
          dw: hwioToOihw(dw, l.OC, l.C, l.K, l.K),
        }));
      },
    });

    // ReLU after the first convolution (the largest activation), then each max-pool
    if (i === 0) cases.push(...reluCases(B, l.OC, g.OH, g.OW));
    if (l.pool > 1) cases.push(...poolCases(`cnn/pool${i}`, B, l.OC, g.OH, g.OW, l.pool, 300 + i));
  });
  dense.forEach((d, i) => cases.push(...matmulCases('cnn', `dense${i}`, B, d.inputs, d.units, 400 + i)));
  return cases;
}

function reluCases(B: number, C: number, H: number, W: number): KernelCase[] {
  const shape = [B, C, H, W];
  const inputs = lazy(200, (rng) => ({ x: uniform(rng, shape), dy: uniform(rng, shape) }));
  const toTf = (tf: Tf, x: Inputs) => ({ x: tf.tensor4d(nchwToNhwc(x.x.data, B, C, H, W), [B, H, W, C]), dy: tf.tensor4d(nchwToNhwc(x.dy.data, B, C, H, W), [B, H, W, C]) });
  const base = { model: 'cnn' as const, op: 'relu', shape: `x${fmt(shape)}`, flops: null, tolerance: TOLERANCE, inputs };
  return [
    {
      ...base,
      id: 'cnn/relu0 forward',
      pass: 'forward',
      outputs: ['y'],
      reference: { key: 'cnn.relu0.forward', flops: null, run: (x) => ({ y: reluRef(x.x.data) }) },
      engine: (be, x) => engineForward(be, x, (t) => relu(be, t.x)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.relu(t.x)], ([y]) => ({ y: nhwcToNchw(y, B, C, H, W) }));
      },
    },
    {
      ...base,
      id: 'cnn/relu0 backward',
      pass: 'backward',
      outputs: ['dx'],
      reference: { key: 'cnn.relu0.backward', flops: null, run: (x) => ({ dx: reluBackwardRef(x.dy.data, x.x.data) }) },
      engine: (be, x) => engineBackward(be, x, (t) => relu(be, t.x), { dx: 'x' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        // TF.js's Relu gradient: dy · step(x)
        return tfRun(tf, Object.values(t), () => [tf.mul(t.dy, tf.step(t.x))], ([dx]) => ({ dx: nhwcToNchw(dx, B, C, H, W) }));
      },
    },
  ];
}

function poolCases(name: string, B: number, C: number, H: number, W: number, k: number, seed: number): KernelCase[] {
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const xShape = [B, C, H, W];
  const inputs = lazy(seed, (rng) => ({ x: uniform(rng, xShape), dy: uniform(rng, [B, C, OH, OW]) }));
  const toTf = (tf: Tf, x: Inputs) => ({
    x: tf.tensor4d(nchwToNhwc(x.x.data, B, C, H, W), [B, H, W, C]),
    dy: tf.tensor4d(nchwToNhwc(x.dy.data, B, C, OH, OW), [B, OH, OW, C]),
  });
  const base = { model: 'cnn' as const, op: 'max-pool', shape: `x${fmt(xShape)} k${k}`, flops: null, tolerance: TOLERANCE, inputs };
  const key = name.replace('/', '.');
  return [
    {
      ...base,
      id: `${name} forward`,
      pass: 'forward',
      outputs: ['y'],
      reference: { key: `${key}.forward`, flops: null, run: (x) => ({ y: maxPoolRef(x.x.data, B * C, H, W, k) }) },
      engine: (be, x) => engineForward(be, x, (t) => maxPool2d(be, t.x, k)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.maxPool(t.x as Tensor4D, k, k, 'valid')], ([y]) => ({ y: nhwcToNchw(y, B, C, OH, OW) }));
      },
    },
    {
      ...base,
      id: `${name} backward`,
      pass: 'backward',
      outputs: ['dx'],
      reference: { key: `${key}.backward`, flops: null, run: (x) => ({ dx: maxPoolBackwardRef(x.dy.data, x.x.data, B * C, H, W, k) }) },
      engine: (be, x) => engineBackward(be, x, (t) => maxPool2d(be, t.x, k), { dx: 'x' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        // the forward's output is saved by TF.js's gradient, so it is made here, untimed
        const y = tf.maxPool(t.x as Tensor4D, k, k, 'valid');
        const attrs = { filterSize: k, strides: k, pad: 'valid' };
        return tfRun(tf, [...Object.values(t), y], () => [tf.engine().runKernel('MaxPoolGrad', { dy: t.dy, input: t.x, output: y }, attrs) as TfTensor], ([dx]) => ({
          dx: nhwcToNchw(dx, B, C, H, W),
        }));
      },
    },
  ];
}

/** A dense layer's product x [M, K] · w [K, N] (bias excluded: its own kernel). */
function matmulCases(model: 'cnn' | 'vit', name: string, M: number, K: number, N: number, seed: number): KernelCase[] {
  const inputs = lazy(seed, (rng) => ({ x: uniform(rng, [M, K]), w: uniform(rng, [K, N]), dy: uniform(rng, [M, N]) }));
  const base = { model, op: 'matmul', shape: `x[${M},${K}] w[${K},${N}]`, tolerance: TOLERANCE, inputs };
  const toTf = (tf: Tf, x: Inputs) => ({ x: tf.tensor2d(x.x.data, [M, K]), w: tf.tensor2d(x.w.data, [K, N]), dy: tf.tensor2d(x.dy.data, [M, N]) });
  return [
    {
      ...base,
      id: `${model}/${name} forward`,
      pass: 'forward',
      flops: 2 * M * K * N,
      outputs: ['y'],
      reference: { key: `${model}.${name}.forward`, flops: 2 * M * K * N, run: (x) => ({ y: matmulRef(x.x.data, x.w.data, 1, M, K, N, false) }) },
      engine: (be, x) => engineForward(be, x, (t) => matmul(be, t.x, t.w)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.matMul(t.x, t.w)], ([y]) => ({ y }));
      },
    },
    {
      ...base,
      id: `${model}/${name} backward`,
      pass: 'backward',
      flops: 4 * M * K * N,
      outputs: ['dx', 'dw'],
      reference: {
        key: `${model}.${name}.backward`,
        flops: 4 * M * K * N,
        run: (x) => {
          const r = matmulBackwardRef(x.dy.data, x.x.data, x.w.data, 1, M, K, N, false);
          return { dx: r.da, dw: r.db };
        },
      },
      engine: (be, x) => engineBackward(be, x, (t) => matmul(be, t.x, t.w), { dx: 'x', dw: 'w' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.matMul(t.dy, t.w, false, true), tf.matMul(t.x, t.dy, true, false)], ([dx, dw]) => ({ dx, dw }));
      },
    },
  ];
}

function vitCases(s: ModelShapes): KernelCase[] {
  const { batch: B, tokens: T, dim: D, heads: H, headDim: dh, mlp } = s.vit;
  const A = H * dh;
  const R = B * T;
  return [
    ...matmulCases('vit', 'attn.query', R, D, A, 500),
    ...matmulCases('vit', 'mlp.fc1', R, D, mlp, 501),
    ...matmulCases('vit', 'mlp.fc2', R, mlp, D, 502),
    ...attentionCases(B, T, A, H),
    ...layerNormCases(R, D),
    ...geluCases(R, mlp),
    ...softmaxCases(B * H * T, T),
  ];
}

function attentionCases(B: number, T: number, D: number, H: number): KernelCase[] {
  const dh = D / H;
  const shape = [B, T, D];
  const inputs = lazy(600, (rng) => ({ q: uniform(rng, shape), k: uniform(rng, shape), v: uniform(rng, shape), dy: uniform(rng, shape) }));
  const pairMacs = B * H * T * T * dh;
  const base = { model: 'vit' as const, op: 'attention', shape: `q,k,v${fmt(shape)} ${H} heads`, tolerance: TOLERANCE, inputs };
  const scale = 1 / Math.sqrt(dh);
  // TF.js composite: heads split to [B, H, T, dh], batched matMuls and its softmax
  const toTf = (tf: Tf, x: Inputs) => {
    const heads = (a: Float32Array) => tf.tidy(() => tf.transpose(tf.tensor4d(a, [B, T, H, dh]), [0, 2, 1, 3]));
    return { q: heads(x.q.data), k: heads(x.k.data), v: heads(x.v.data), dy: heads(x.dy.data) };
  };
  const merge = (tf: Tf, t: TfTensor) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [B, T, D]);
  return [
    {
      ...base,
      id: 'vit/attention forward',
      pass: 'forward',
      flops: 4 * pairMacs,
      outputs: ['y'],
      reference: { key: 'vit.attention.forward', flops: 4 * pairMacs, run: (x) => ({ y: attentionRef(x.q.data, x.k.data, x.v.data, B, T, D, H) }) },
      engine: (be, x) => engineForward(be, x, (t) => attention(be, t.q, t.k, t.v, H)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [merge(tf, tf.matMul(tf.softmax(tf.mul(tf.matMul(t.q, t.k, false, true), scale)), t.v))], ([y]) => ({ y }));
      },
    },
    {
      ...base,
      id: 'vit/attention backward',
      pass: 'backward',
      flops: 8 * pairMacs,
      outputs: ['dq', 'dk', 'dv'],
      reference: {
        key: 'vit.attention.backward',
        flops: 8 * pairMacs,
        run: (x) => attentionBackwardRef(x.dy.data, x.q.data, x.k.data, x.v.data, B, T, D, H),
      },
      engine: (be, x) => engineBackward(be, x, (t) => attention(be, t.q, t.k, t.v, H), { dq: 'q', dk: 'k', dv: 'v' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        // the probabilities are what TF.js's gradient keeps from the forward pass: made untimed
        const p = tf.tidy(() => tf.softmax(tf.mul(tf.matMul(t.q, t.k, false, true), scale)));
        return tfRun(tf, [...Object.values(t), p], () => {
          const dv = tf.matMul(p, t.dy, true, false);
          const dp = tf.matMul(t.dy, t.v, false, true);
          const ds = tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(p, dp), -1, true))), scale);
          return [merge(tf, tf.matMul(ds, t.k)), merge(tf, tf.matMul(ds, t.q, true, false)), merge(tf, dv)];
        }, ([dq, dk, dv]) => ({ dq, dk, dv }));
      },
    },
  ];
}

function layerNormCases(R: number, D: number): KernelCase[] {
  const eps = 1e-5;
  const inputs = lazy(700, (rng) => ({ x: uniform(rng, [R, D]), gamma: uniform(rng, [D]), beta: uniform(rng, [D]), dy: uniform(rng, [R, D]) }));
  const base = { model: 'vit' as const, op: 'layer-norm', shape: `x[${R},${D}]`, flops: null, tolerance: TOLERANCE, inputs };
  const toTf = (tf: Tf, x: Inputs) => ({ x: tf.tensor2d(x.x.data, [R, D]), gamma: tf.tensor1d(x.gamma.data), beta: tf.tensor1d(x.beta.data), dy: tf.tensor2d(x.dy.data, [R, D]) });
  return [
    {
      ...base,
      id: 'vit/layer-norm forward',
      pass: 'forward',
      outputs: ['y'],
      reference: { key: 'vit.layernorm.forward', flops: null, run: (x) => ({ y: layerNormRef(x.x.data, x.gamma.data, x.beta.data, R, D, eps) }) },
      engine: (be, x) => engineForward(be, x, (t) => layerNorm(be, t.x, t.gamma, t.beta, eps)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => {
          const { mean, variance } = tf.moments(t.x, -1, true);
          return [tf.add(tf.mul(tf.mul(tf.sub(t.x, mean), tf.rsqrt(tf.add(variance, eps))), t.gamma), t.beta)];
        }, ([y]) => ({ y }));
      },
    },
    {
      ...base,
      id: 'vit/layer-norm backward',
      pass: 'backward',
      outputs: ['dx', 'dgamma', 'dbeta'],
      reference: {
        key: 'vit.layernorm.backward',
        flops: null,
        run: (x) => {
          const r = layerNormBackwardRef(x.dy.data, x.x.data, x.gamma.data, R, D, eps);
          return { dx: r.dx, dgamma: r.dgamma, dbeta: r.dbeta };
        },
      },
      engine: (be, x) => engineBackward(be, x, (t) => layerNorm(be, t.x, t.gamma, t.beta, eps), { dx: 'x', dgamma: 'gamma', dbeta: 'beta' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        // mean and 1/std are kept from the forward pass (as the engine keeps them): made untimed
        const { mean, rstd } = tf.tidy(() => {
          const m = tf.moments(t.x, -1, true);
          return { mean: m.mean, rstd: tf.rsqrt(tf.add(m.variance, eps)) };
        });
        return tfRun(tf, [...Object.values(t), mean, rstd], () => {
          const xhat = tf.mul(tf.sub(t.x, mean), rstd);
          const gdy = tf.mul(t.dy, t.gamma);
          const dx = tf.mul(rstd, tf.sub(tf.sub(gdy, tf.mean(gdy, -1, true)), tf.mul(xhat, tf.mean(tf.mul(gdy, xhat), -1, true))));
          return [dx, tf.sum(tf.mul(t.dy, xhat), 0), tf.sum(t.dy, 0)];
        }, ([dx, dgamma, dbeta]) => ({ dx, dgamma, dbeta }));
      },
    },
  ];
}

function geluCases(R: number, N: number): KernelCase[] {
  const inputs = lazy(800, (rng) => ({ x: uniform(rng, [R, N]), dy: uniform(rng, [R, N]) }));
  const base = { model: 'vit' as const, op: 'gelu', shape: `x[${R},${N}]`, flops: null, tolerance: TOLERANCE, inputs };
  const c = Math.sqrt(2 / Math.PI);
  const a = 0.044715;
  const toTf = (tf: Tf, x: Inputs) => ({ x: tf.tensor2d(x.x.data, [R, N]), dy: tf.tensor2d(x.dy.data, [R, N]) });
  // TF.js 4.22 has no GELU op: the same tanh approximation, composed
  const tanhU = (tf: Tf, x: TfTensor) => tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), a)), c));
  return [
    {
      ...base,
      id: 'vit/gelu forward',
      pass: 'forward',
      outputs: ['y'],
      reference: { key: 'vit.gelu.forward', flops: null, run: (x) => ({ y: geluRef(x.x.data) }) },
      engine: (be, x) => engineForward(be, x, (t) => gelu(be, t.x)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.mul(tf.mul(t.x, 0.5), tf.add(tanhU(tf, t.x), 1))], ([y]) => ({ y }));
      },
    },
    {
      ...base,
      id: 'vit/gelu backward',
      pass: 'backward',
      outputs: ['dx'],
      reference: { key: 'vit.gelu.backward', flops: null, run: (x) => ({ dx: geluBackwardRef(x.dy.data, x.x.data) }) },
      engine: (be, x) => engineBackward(be, x, (t) => gelu(be, t.x), { dx: 'x' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => {
          const th = tanhU(tf, t.x);
          const du = tf.mul(tf.add(tf.mul(tf.square(t.x), 3 * a), 1), c);
          const d = tf.add(tf.mul(tf.add(th, 1), 0.5), tf.mul(tf.mul(tf.mul(t.x, 0.5), tf.sub(1, tf.square(th))), du));
          return [tf.mul(t.dy, d)];
        }, ([dx]) => ({ dx }));
      },
    },
  ];
}

/** Softmax over rows of N, at the attention probabilities' shape [B·heads·T, T] (attention fuses its own). */
function softmaxCases(R: number, N: number): KernelCase[] {
  const inputs = lazy(900, (rng) => ({ x: uniform(rng, [R, N]), dy: uniform(rng, [R, N]) }));
  const base = { model: 'vit' as const, op: 'softmax', shape: `x[${R},${N}]`, flops: null, tolerance: TOLERANCE, inputs };
  const toTf = (tf: Tf, x: Inputs) => ({ x: tf.tensor2d(x.x.data, [R, N]), dy: tf.tensor2d(x.dy.data, [R, N]) });
  return [
    {
      ...base,
      id: 'vit/softmax forward',
      pass: 'forward',
      outputs: ['y'],
      reference: { key: 'vit.softmax.forward', flops: null, run: (x) => ({ y: softmaxRef(x.x.data, R, N) }) },
      engine: (be, x) => engineForward(be, x, (t) => softmax(be, t.x)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.softmax(t.x)], ([y]) => ({ y }));
      },
    },
    {
      ...base,
      id: 'vit/softmax backward',
      pass: 'backward',
      outputs: ['dx'],
      reference: { key: 'vit.softmax.backward', flops: null, run: (x) => ({ dx: softmaxBackwardRef(x.dy.data, x.x.data, R, N) }) },
      engine: (be, x) => engineBackward(be, x, (t) => softmax(be, t.x), { dx: 'x' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        const y = tf.softmax(t.x);
        return tfRun(tf, [...Object.values(t), y], () => [tf.mul(y, tf.sub(t.dy, tf.sum(tf.mul(y, t.dy), -1, true)))], ([dx]) => ({ dx }));
      },
    },
  ];
}

/** Softmax cross-entropy on the logits [B, 10]: the same shape in both models. */
function lossCases(s: ModelShapes): KernelCase[] {
  const B = s.cnn.batch;
  const C = 10;
  const inputs = lazy(1000, (rng) => ({
    z: uniform(rng, [B, C]),
    labels: { shape: [B], data: Float32Array.from({ length: B }, () => rng.int(C)) },
    dy: { shape: [1], data: new Float32Array([1]) },
  }));
  const base = { model: 'cnn+vit' as const, op: 'softmax xent', shape: `z[${B},${C}]`, flops: null, tolerance: TOLERANCE, inputs };
  const toTf = (tf: Tf, x: Inputs) => ({ z: tf.tensor2d(x.z.data, [B, C]), onehot: tf.oneHot(tf.tensor1d(x.labels.data, 'int32'), C).toFloat() });
  return [
    {
      ...base,
      id: 'loss/softmax xent forward',
      pass: 'forward',
      outputs: ['y'],
      reference: { key: 'loss.forward', flops: null, run: (x) => ({ y: softmaxCrossEntropyRef(x.z.data, x.labels.data, B, C) }) },
      engine: (be, x) => engineForward(be, x, (t) => softmaxCrossEntropy(be, t.z, x.labels.data)),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        return tfRun(tf, Object.values(t), () => [tf.losses.softmaxCrossEntropy(t.onehot, t.z)], ([y]) => ({ y }));
      },
    },
    {
      ...base,
      id: 'loss/softmax xent backward',
      pass: 'backward',
      outputs: ['dz'],
      reference: { key: 'loss.backward', flops: null, run: (x) => ({ dz: softmaxCrossEntropyBackwardRef(1, x.z.data, x.labels.data, B, C) }) },
      engine: (be, x) => engineBackward(be, x, (t) => softmaxCrossEntropy(be, t.z, x.labels.data), { dz: 'z' }),
      tfjs: (tf, x) => {
        const t = toTf(tf, x);
        // TF.js's softmaxCrossEntropy gradient: (softmax(z) − onehot) / B
        return tfRun(tf, Object.values(t), () => [tf.div(tf.sub(tf.softmax(t.z), t.onehot), B)], ([dz]) => ({ dz }));
      },
    },
  ];
}
