import { record } from '../tape.js';
import { Tensor, shapeSize } from '../tensor.js';

/** Same values, new shape (flatten is reshape to [B, rest]); no kernel, the gradient passes through. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (shapeSize(shape) !== x.size) throw new Error(`reshape: [${x.shape.join(',')}] has ${x.size} values, [${shape.join(',')}] needs ${shapeSize(shape)}`);
  const y = new Tensor(shape, x.data);
  return record(y, 'reshape', [x], async (dy) => x.accumulateGrad(dy));
}

/** Flattens every dimension after the first: [B, ...] → [B, rest]. */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.shape[0], x.size / x.shape[0]]);
}
