import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { type Backend, type ConvOutputLayout, type PlanKernel, PlanKernels, ROWS, conv2dForwardKernel, convGeometry, denseEpilogue, gemmChunks, gemmSpec, poolConvOutput, specFor, type PlanOptions, type Tensor } from '@digitlab/tensor';
import type { CnnConfig } from './config.js';
import type { Model } from './model.js';
import { type InferencePlan, checkImages, param } from './plan.js';

/**
 * The CNN's plan. Per image, one kernel per convolution (bias and ReLU inside it), the max-pool
 * in the host pass that moves its output into the next kernel. Per block of four images (the
 * gemm's rows per thread), one gemm per dense layer, bias and ReLU in the pass after it. Every
 * kernel is compiled for one image or one block, whatever the batch: a convolution of one image
 * fills the SIMD lanes as well as one of many, and a dense layer reads its whole weight for
 * every four rows either way.
 */
export function cnnPlan(model: Model, config: CnnConfig, be: Backend, options: PlanOptions = {}): InferencePlan {
  const ks = new PlanKernels(be, options);
  const convs: { k: PlanKernel; layout: ConvOutputLayout; OC: number; OH: number; OW: number; pool: number }[] = [];
  let [c, h, w] = [1, SIDE, SIDE];
  config.conv.forEach((layer, i) => {
    const weight = param(model, `conv${i}.weight`);
    const g = convGeometry([1, c, h, w], weight.shape, { stride: layer.stride ?? 1, padding: layer.padding ?? 0 });
    const { spec, layout } = conv2dForwardKernel(be, g, { relu: true });
    const k = ks.kernel(spec, [c * h * w, weight.size, g.OC]);
    ks.resident(k, 1, weight);
    ks.resident(k, 2, param(model, `conv${i}.bias`));
    const pool = Math.max(1, layer.pool ?? 0);
    convs.push({ k, layout, OC: g.OC, OH: g.OH, OW: g.OW, pool });
    [c, h, w] = [g.OC, Math.floor(g.OH / pool), Math.floor(g.OW / pool)];
  });
  const M = ROWS;
  const features = c * h * w;
  let width = features;
  const dense: { k: PlanKernel; N: number; parts: number; bias: Tensor }[] = [];
  [...config.dense, 10].forEach((N, i) => {
    const K = width;
    const k = ks.kernel(specFor(gemmSpec, { batch: 1, M, N, K, a: [M * K, K, 1], b: [0, N, 1] }), [M * K, K * N]);
    ks.resident(k, 1, param(model, `dense${i}.weight`));
    dense.push({ k, N, parts: gemmChunks(K).chunks, bias: param(model, `dense${i}.bias`) });
    width = N;
  });
  const features0 = dense[0].k.args[0];

  /** The dense layers over the first `rows` rows of the block, logits into out at row `at`. */
  const block = (rows: number, out: Float32Array, at: number): void => {
    dense.forEach((l, i) => {
      ks.run(l.k);
      const last = i === dense.length - 1;
      const dst = last ? out.subarray(at * 10, (at + rows) * 10) : dense[i + 1].k.args[0];
      denseEpilogue({ raw: l.k.output, M: rows, N: l.N, parts: l.parts, blocks: 1, bias: l.bias.data, activation: last ? 'none' : 'relu', dst });
    });
  };

  return {
    ks,
    kernels: ks.size,
    compileMs: () => ks.compileMs(),
    callsFor: (count) => count * convs.length + Math.ceil(count / M) * dense.length,
    run(images: Float32Array, count: number): Float32Array {
      checkImages(images, count);
      ks.refresh();
      const logits = new Float32Array(count * 10);
      for (let i = 0; i < count; i++) {
        convs[0].k.args[0].set(images.subarray(i * PIXELS, (i + 1) * PIXELS));
        const row = i % M;
        convs.forEach((l, j) => {
          ks.run(l.k);
          const into = j + 1 < convs.length ? convs[j + 1].k.args[0] : features0.subarray(row * features, (row + 1) * features);
          poolConvOutput(l.k.output, 1, l.OC, l.OH, l.OW, l.layout, l.pool, into);
        });
        if (row === M - 1 || i === count - 1) block(row + 1, logits, i - row);
      }
      return logits;
    },
    destroy: () => ks.destroy(),
  };
}
