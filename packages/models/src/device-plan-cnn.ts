import { SIDE } from '@digitlab/digit-csv';
import { type Backend, type DeviceArray, type DeviceSteps, conv2dForwardKernel, convCellOffset, convChannelStart, convGeometry, gatherSpec, specFor } from '@digitlab/tensor';
import type { CnnConfig } from './config.js';
import { type DeviceForward, denseRows, deviceDense, indexTable } from './device-plan.js';
import type { Model } from './model.js';
import { param } from './plan.js';

/**
 * The CNN on the device for B images: per convolution its kernel (bias and ReLU inside) and a
 * gather that reads its cells into [B, C, H, W], max-pooling on the way; per dense layer its gemm
 * and a gather that sums the reduction's chunks and adds the bias (and ReLU). Dropout is the
 * identity at inference.
 */
export function deviceCnn(model: Model, config: CnnConfig, be: Backend, B: number): DeviceForward {
  return (plan: DeviceSteps, images: DeviceArray): DeviceArray => {
    let x = images;
    let [c, h, w] = [1, SIDE, SIDE];
    config.conv.forEach((layer, i) => {
      const weight = param(model, `conv${i}.weight`);
      const g = convGeometry([B, c, h, w], weight.shape, { stride: layer.stride ?? 1, padding: layer.padding ?? 0 });
      const { spec, layout } = conv2dForwardKernel(be, g, { relu: true });
      const raw = plan.kernel(spec, [x, plan.constant(weight.data), plan.constant(param(model, `conv${i}.bias`).data)]);
      const k = Math.max(1, layer.pool ?? 0);
      const [PH, PW] = [Math.floor(g.OH / k), Math.floor(g.OW / k)];
      const taps = k * k;
      // output (b, o, py, px), tap (dy, dx): the window's cells in the kernel's layout
      const index = indexTable(B * g.OC * PH * PW * taps, (i) => {
        const t = i % taps;
        let cell = Math.floor(i / taps);
        const px = cell % PW;
        cell = Math.floor(cell / PW);
        const py = cell % PH;
        cell = Math.floor(cell / PH);
        const o = cell % g.OC;
        const b = Math.floor(cell / g.OC);
        return convChannelStart(layout, g.OC, b, o) + convCellOffset(layout, g.OW, py * k + Math.floor(t / k), px * k + (t % k));
      });
      x = plan.kernel(specFor(gatherSpec, { width: PH * PW, rows: B * g.OC, taps, reduce: 'max' as const }), [raw, plan.constant(index)]);
      [c, h, w] = [g.OC, PH, PW];
    });
    let width = c * h * w;
    const M = Math.ceil(B / 4) * 4;
    if (M !== B) throw new Error(`device plan: the CNN runs a multiple of 4 images at a time, not ${B}`);
    [...config.dense, 10].forEach((N, i) => {
      const l = deviceDense(plan, model, x, [`dense${i}`], { M, K: width, N });
      const last = i === config.dense.length;
      x = denseRows(plan, model, l, { M, rawM: M, N, bias: `dense${i}`, relu: !last });
      width = N;
    });
    return x;
  };
}
