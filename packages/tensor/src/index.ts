export { Tensor, shapeSize, assertShape, type TapeNode } from './tensor.js';
export { Backend, MODES, EXPECTED_KERNEL, flattenOutput, type Mode, type KernelSpec, type BackendOptions } from './backend.js';
export { backward, noGrad, record, needsGrad } from './tape.js';
export { Rng } from './random.js';
export { gemm, gemmSpec, unpackRows, type GemmShape } from './ops/gemm.js';
export { matmul } from './ops/matmul.js';
