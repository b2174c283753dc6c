// conv2d_backward_bias on webasm: output [64], 1 per cell, 206 chars
function(D) {
  const o = this.thread.x;
  let s = 0;
  for (let b = 0; b < 128; b++) {
    const base = (b * 64 + o) * 64;
    for (let q = 0; q < 64; q++) {
      s += D[base + q];
    }
  }
  return s;
}
