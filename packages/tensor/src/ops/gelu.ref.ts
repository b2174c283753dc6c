/** Plain-loop float64 references for GELU, tanh approximation. */

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** gelu(x) = x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(C * (v + A * v ** 3))));
}

/** dx = dy · gelu'(x). */
export function geluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const t = Math.tanh(C * (v + A * v ** 3));
    return dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * A * v * v));
  });
}
