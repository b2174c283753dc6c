import { Tensor, type TapeNode } from './tensor.js';

let recording = true;

/** Runs fn without recording ops (inference): no closures, no saved activations. */
export async function noGrad<T>(fn: () => Promise<T>): Promise<T> {
  const prev = recording;
  recording = false;
  try {
    return await fn();
  } finally {
    recording = prev;
  }
}

/** True when an op with these inputs must record its backward. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return recording && inputs.some((t) => t.requiresGrad);
}

/**
 * Records an op on the tape: the output remembers its inputs and backward closure.
 * Ops call this after computing their output; it is a no-op when no input requires grad.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: TapeNode['backward']): Tensor {
  if (!needsGrad(inputs)) return out;
  out.requiresGrad = true;
  out.node = { op, inputs, backward };
  return out;
}

/**
 * Reverse-mode sweep from a scalar loss: orders the recorded graph topologically (the tape)
 * and runs each op's backward kernels in reverse. Leaves accumulate into `.grad`.
 */
export async function backward(loss: Tensor, seed?: Float32Array): Promise<void> {
  if (!seed && loss.size !== 1) throw new Error(`backward() needs a scalar loss or an explicit seed gradient; got shape [${loss.shape.join(',')}]`);
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // iterative DFS: deep ViTs make recursion risky
  const stack: Array<[Tensor, boolean]> = [[loss, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const p of t.node?.inputs ?? []) if (p.requiresGrad && !seen.has(p)) stack.push([p, false]);
  }
  loss.accumulateGrad(seed ?? new Float32Array([1]));
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (!t.node || !t.grad) continue;
    const g = t.grad;
    // intermediates hand their gradient on and drop it, so memory stays one layer deep
    t.grad = null;
    await t.node.backward(g);
  }
}
