import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { idiv, imod } from './kernel-math.js';

/*
 * Image -> patch tokens: x [B, C, H, W] -> [B, NP, E] with NP = (H/p)·(W/p) patches in row-major
 * order (patch n = py·(W/p) + px) and E = C·p·p values per patch, channel-major inside a patch
 * (e = c·p·p + ky·p + kx):
 *   out[b][n][e] = x[b][c][py·p + ky][px·p + kx]
 * Every input pixel lands in exactly one patch, so backward is the inverse gather, not a scatter.
 */

/** X [B, C, H, W] -> [B, NP, E]; thread (x = e, y = n, z = b) */
export function patchifyForwardSpec(B: number, C: number, H: number, W: number, p: number): KernelSpec {
  const PW = W / p;
  const E = C * p * p;
  const NP = (H / p) * PW;
  const c = idiv('this.thread.x', p * p, E);
  const ky = imod(idiv('this.thread.x', p, E), p, E);
  const kx = imod('this.thread.x', p, E);
  const py = idiv('this.thread.y', PW, NP);
  const px = imod('this.thread.y', PW, NP);
  const source = `function(X) {
  return X[((this.thread.z * ${C} + ${c}) * ${H} + ${py} * ${p} + ${ky}) * ${W} + ${px} * ${p} + ${kx}];
}`;
  return { name: 'patchify_forward', source, output: [C * p * p, (H / p) * PW, B] };
}

/** dOut [B, NP, E] -> dX [B, C, H, W]; thread (x = column, y = row, z = b·C + c) */
export function patchifyBackwardSpec(B: number, C: number, H: number, W: number, p: number): KernelSpec {
  const PW = W / p;
  const b = idiv('this.thread.z', C, B * C);
  const c = imod('this.thread.z', C, B * C);
  const n = `${idiv('this.thread.y', p, H)} * ${PW} + ${idiv('this.thread.x', p, W)}`;
  const e = `${c} * ${p * p} + ${imod('this.thread.y', p, H)} * ${p} + ${imod('this.thread.x', p, W)}`;
  const source = `function(G) {
  return G[(${b} * ${(H / p) * PW} + ${n}) * ${C * p * p} + ${e}];
}`;
  return { name: 'patchify_backward', source, output: [W, H, B * C] };
}

/** Cuts images x [B, C, H, W] into p x p patches: [B, (H/p)·(W/p), C·p·p]. */
export async function patchify(be: Backend, x: Tensor, patch: number): Promise<Tensor> {
  if (x.shape.length !== 4) throw new Error(`patchify: x must be [B, C, H, W], got [${x.shape.join(',')}]`);
  const [B, C, H, W] = x.shape;
  if (!Number.isInteger(patch) || patch < 1 || H % patch !== 0 || W % patch !== 0) {
    throw new Error(`patchify: image ${H}x${W} is not divisible into ${patch}x${patch} patches`);
  }
  const out = new Tensor([B, (H / patch) * (W / patch), C * patch * patch], await be.run(specFor(patchifyForwardSpec, B, C, H, W, patch), [x.data]));
  return record(out, 'patchify', [x], async (dout) => {
    x.accumulateGrad(await be.run(specFor(patchifyBackwardSpec, B, C, H, W, patch), [dout]));
  });
}
