import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { isRectified, markRectified } from './relu.js';

/*
 * max_pool_forward. k×k windows, stride k, floor mode. Thread (ox, oy, b·C+c).
 * x: [B, C, H, W] → y: [B, C, H/k, W/k]
 */
function forwardSpec(BC: number, H: number, W: number, k: number): KernelSpec {
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const taps: string[] = [];
  for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) if (dy + dx > 0) taps.push(`m = Math.max(m, X[base + ${dy * W + dx}]);`);
  const src = `function(X) {
  const base = (this.thread.z * ${H} + this.thread.y * ${k}) * ${W} + this.thread.x * ${k};
  let m = X[base];
  ${taps.join('\n  ')}
  return m;
}`;
  return { name: 'max_pool_forward', source: src, output: [OW, OH, BC] };
}

/*
 * max_pool_backward. Thread per input cell (ix, iy, b·C+c): it receives its window's dy if it
 * is that window's first maximum (recomputed from x, so nothing but x is saved). `rectify`: x is
 * a ReLU's output, and a cell that is not positive gets 0, its ReLU's backward done here.
 */
function backwardSpec(BC: number, H: number, W: number, k: number, rectify: boolean): KernelSpec {
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const scan: string[] = [];
  for (let dy = 0; dy < k; dy++)
    for (let dx = 0; dx < k; dx++) {
      const t = dy * k + dx;
      if (t > 0) scan.push(`v = X[base + ${dy * W + dx}]; at = v > m ? ${t} : at; m = Math.max(m, v);`);
    }
  const src = `function(D, X) {
  const ix = this.thread.x;
  const iy = this.thread.y;
  const p = this.thread.z;
  const ox = Math.min(Math.floor(ix / ${k}), ${OW - 1});
  const oy = Math.min(Math.floor(iy / ${k}), ${OH - 1});
  const inside = (ix < ${OW * k} && iy < ${OH * k}) ? 1 : 0;
  const base = (p * ${H} + oy * ${k}) * ${W} + ox * ${k};
  let m = X[base];
  let at = 0;
  let v = 0;
  ${scan.join('\n  ')}
  const mine = (iy - oy * ${k}) * ${k} + (ix - ox * ${k});
  const g = (at === mine ? 1 : 0) * inside * D[(p * ${OH} + oy) * ${OW} + ox];
  return ${rectify ? `X[(p * ${H} + iy) * ${W} + this.thread.x] > 0 ? g : 0` : 'g'};
}`;
  return { name: 'max_pool_backward', source: src, output: [W, H, BC] };
}

/** k×k max-pooling with stride k over [B, C, H, W] (floor mode: a ragged edge is dropped). */
export async function maxPool2d(be: Backend, x: Tensor, k = 2): Promise<Tensor> {
  if (x.shape.length !== 4) throw new Error(`maxPool2d: input must be [B, C, H, W], got [${x.shape.join(',')}]`);
  const [B, C, H, W] = x.shape;
  if (!Number.isInteger(k) || k < 1 || k > H || k > W) throw new Error(`maxPool2d: window ${k} does not fit a ${H}x${W} input`);
  const y = new Tensor([B, C, Math.floor(H / k), Math.floor(W / k)], await be.run(specFor(forwardSpec, B * C, H, W, k), [x.data]));
  const rectify = isRectified(x);
  return record(y, 'maxPool2d', [x], async (dy) => {
    const dx = await be.run(specFor(backwardSpec, B * C, H, W, k, rectify), [dy, x.data]);
    x.accumulateGrad(rectify ? markRectified(dx, x.data) : dx);
  });
}
