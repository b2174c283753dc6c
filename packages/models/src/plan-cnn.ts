import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { type Backend, type GemmVariant, type PlanKernel, PlanKernels, ROWS, conv2dForwardKernel, convGeometry, convPool, type PlanOptions } from '@digitlab/tensor';
import type { CnnConfig } from './config.js';
import type { Model } from './model.js';
import { type InferencePlan, checkImages, param, planDense, runDense } from './plan.js';

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
  const convs: { k: PlanKernel; pool: (raw: Float32Array, dst: Float32Array) => void }[] = [];
  let [c, h, w] = [1, SIDE, SIDE];
  config.conv.forEach((layer, i) => {
    const weight = param(model, `conv${i}.weight`);
    const g = convGeometry([1, c, h, w], weight.shape, { stride: layer.stride ?? 1, padding: layer.padding ?? 0 });
    const { spec, layout } = conv2dForwardKernel(be, g, { relu: true });
    const k = ks.kernel(spec, [c * h * w, weight.size, g.OC]);
    ks.resident(k, 1, weight);
    ks.resident(k, 2, param(model, `conv${i}.bias`));
    const pool = Math.max(1, layer.pool ?? 0);
    convs.push({ k, pool: convPool(1, g.OC, g.OH, g.OW, layout, pool) });
    [c, h, w] = [g.OC, Math.floor(g.OH / pool), Math.floor(g.OW / pool)];
  });
  const M = ROWS;
  let width = c * h * w;
  const dense = [...config.dense, 10].map((N, i) => {
    const K = width;
    width = N;
    // one block of rows reads the whole weight once: '4x2' (half the loads of '4x1' per multiply-add) wherever its x axis runs whole SIMD quads
    const variant: GemmVariant | undefined = (N / 2) % 4 === 0 ? '4x2' : undefined;
    return planDense(model, ks, be, [`dense${i}`], { M, K, N, activation: i < config.dense.length ? 'relu' : 'none', variant });
  });
  // row r of the first dense layer's input: where image r of a block leaves its features
  const features = dense[0].k.args[0];
  const featureRows = Array.from({ length: M }, (_, r) => features.subarray((r * features.length) / M, ((r + 1) * features.length) / M));

  /** The dense layers over the first `rows` rows of the block, logits into out at row `at`. */
  const block = (rows: number, out: Float32Array, at: number): void => {
    for (let i = 0; i < dense.length; i++) {
      const dst = i + 1 < dense.length ? dense[i + 1].k.args[0] : out.subarray(at * 10, (at + rows) * 10);
      runDense(ks, dense[i], { rows, dst });
    }
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
        for (let j = 0; j < convs.length; j++) {
          const l = convs[j];
          ks.run(l.k);
          const into = j + 1 < convs.length ? convs[j + 1].k.args[0] : featureRows[row];
          l.pool(l.k.output, into);
        }
        if (row === M - 1 || i === count - 1) block(row + 1, logits, i - row);
      }
      return logits;
    },
    destroy: () => ks.destroy(),
  };
}
