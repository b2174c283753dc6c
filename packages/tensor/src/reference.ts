/**
 * `@digitlab/tensor/reference`: every op's plain-TypeScript float64 reference, forward and
 * backward, for code outside the engine that checks or times the kernels against them (the bench).
 * The references are the definition of each op; the kernels are tested against them.
 */
export { addPositionalRef, addPositionalBackwardRef } from './ops/add-positional.ref.js';
export { addRef, addBackwardRef } from './ops/add.ref.js';
export { attentionProbsRef, attentionRef, attentionBackwardRef } from './ops/attention.ref.js';
export { addBiasRef, addBiasBackwardRef } from './ops/bias.js';
export { conv2dRef, conv2dBackwardRef, type ConvGeometry } from './ops/conv2d.ref.js';
export { softmaxCrossEntropyRef, softmaxCrossEntropyBackwardRef } from './ops/cross-entropy.js';
export { dropoutRef } from './ops/dropout.js';
export { geluRef, geluBackwardRef } from './ops/gelu.ref.js';
export { layerNormRef, layerNormBackwardRef } from './ops/layer-norm.ref.js';
export { matmulRef, matmulBackwardRef } from './ops/matmul.ref.js';
export { patchifyRef, patchifyBackwardRef } from './ops/patchify.ref.js';
export { maxPoolRef, maxPoolBackwardRef } from './ops/pool.ref.js';
export { prependTokenRef, prependTokenBackwardRef } from './ops/prepend-token.ref.js';
export { reluRef, reluBackwardRef } from './ops/relu.js';
export { selectTokenRef, selectTokenBackwardRef } from './ops/select-token.ref.js';
export { softmaxRef, softmaxBackwardRef } from './ops/softmax.ref.js';
