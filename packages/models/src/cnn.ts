import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { type Backend, Tensor, addBias, conv2d, dropout, flatten, matmul, maxPool2d, relu, type Rng } from '@digitlab/tensor';
import type { CnnConfig } from './config.js';
import { type ForwardContext, type Model, ParamStore } from './model.js';

/**
 * The CNN, read like its diagram:
 *   [conv k×k → ReLU (→ max-pool)] × n → flatten → [dense → ReLU] × m → dropout → dense(10)
 */
export function buildCnn(config: CnnConfig, rng: Rng): Model {
  const store = new ParamStore(rng);
  let [c, h, w] = [1, SIDE, SIDE];
  let flops = 0;
  const convs = config.conv.map((layer, i) => {
    const pad = layer.padding ?? 0;
    const stride = layer.stride ?? 1;
    const weight = store.he(`conv${i}.weight`, [layer.filters, c, layer.kernel, layer.kernel], c * layer.kernel * layer.kernel);
    const bias = store.constant(`conv${i}.bias`, [layer.filters], 0);
    h = Math.floor((h + 2 * pad - layer.kernel) / stride) + 1;
    w = Math.floor((w + 2 * pad - layer.kernel) / stride) + 1;
    if (h < 1 || w < 1) throw new Error(`cnn config: conv${i} leaves no pixels (${h}x${w})`);
    flops += 2 * layer.filters * h * w * c * layer.kernel * layer.kernel;
    c = layer.filters;
    const pool = layer.pool ?? 0;
    if (pool > 1) {
      h = Math.floor(h / pool);
      w = Math.floor(w / pool);
      if (h < 1 || w < 1) throw new Error(`cnn config: pool after conv${i} leaves no pixels`);
    }
    return { weight, bias, pad, stride, pool };
  });
  let width = c * h * w;
  const dense = [...config.dense, 10].map((units, i) => {
    const weight = store.he(`dense${i}.weight`, [width, units], width);
    const bias = store.constant(`dense${i}.bias`, [units], 0);
    flops += 2 * width * units;
    width = units;
    return { weight, bias };
  });

  return {
    config,
    params: store.params,
    noDecay: store.noDecay,
    flopsPerImage: flops,
    async forward(be: Backend, images: Tensor, ctx: ForwardContext): Promise<Tensor> {
      let x = images;
      for (const l of convs) {
        x = await conv2d(be, x, l.weight, l.bias, { stride: l.stride, padding: l.pad, relu: true });
        if (l.pool > 1) x = await maxPool2d(be, x, l.pool);
      }
      x = flatten(x);
      for (let i = 0; i < dense.length; i++) {
        const last = i === dense.length - 1;
        if (last && config.dropout > 0) x = await dropout(be, x, config.dropout, ctx.rng!, ctx.training);
        x = await addBias(be, await matmul(be, x, dense[i].weight), dense[i].bias);
        if (!last) x = await relu(be, x);
      }
      return x;
    },
  };
}

/** Shapes images [B, 784] as the CNN's input [B, 1, 28, 28]. */
export function asImageBatch(images: Float32Array, count: number): Tensor {
  return new Tensor([count, 1, SIDE, SIDE], images.subarray(0, count * PIXELS));
}
