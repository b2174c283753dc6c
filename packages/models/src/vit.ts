import { SIDE } from '@digitlab/digit-csv';
import { type Backend, Tensor, add, addBias, addPositional, attention, dropout, gelu, layerNorm, matmul, patchify, prependToken, reshape, selectToken, type Rng } from '@digitlab/tensor';
import type { VitConfig } from './config.js';
import { type ForwardContext, type Model, ParamStore } from './model.js';

/**
 * The ViT, read like its diagram:
 *   patches → linear embed → [class token; …] + positions
 *   → [x + MHA(LN(x)); x + MLP(LN(x))] × layers → LN → class token → linear(10)
 */
export function buildVit(config: VitConfig, rng: Rng): Model {
  const { patch, dim: D, heads, headDim, layers, mlp } = config;
  const store = new ParamStore(rng);
  const P = patch * patch;
  const T = (SIDE / patch) ** 2 + 1;
  const A = heads * headDim;
  const lin = (name: string, fanIn: number, fanOut: number, relu = false) => ({
    w: relu ? store.he(`${name}.weight`, [fanIn, fanOut], fanIn) : store.normal(`${name}.weight`, [fanIn, fanOut], Math.sqrt(1 / fanIn)),
    b: store.constant(`${name}.bias`, [fanOut], 0),
  });
  const embed = lin('embed', P, D);
  const cls = store.normal('cls_token', [D], 0.02, false);
  const pos = store.normal('pos_embed', [T, D], 0.02, false);
  const blocks = Array.from({ length: layers }, (_, i) => ({
    ln1: { g: store.constant(`block${i}.ln1.gain`, [D], 1), b: store.constant(`block${i}.ln1.bias`, [D], 0) },
    q: lin(`block${i}.attn.query`, D, A),
    k: lin(`block${i}.attn.key`, D, A),
    v: lin(`block${i}.attn.value`, D, A),
    o: lin(`block${i}.attn.out`, A, D),
    ln2: { g: store.constant(`block${i}.ln2.gain`, [D], 1), b: store.constant(`block${i}.ln2.bias`, [D], 0) },
    fc1: lin(`block${i}.mlp.fc1`, D, mlp, true),
    fc2: lin(`block${i}.mlp.fc2`, mlp, D),
  }));
  const lnf = { g: store.constant('norm.gain', [D], 1), b: store.constant('norm.bias', [D], 0) };
  const head = lin('head', D, 10);
  const flopsPerImage =
    2 * (T - 1) * P * D + layers * (2 * T * D * A * 4 + 2 * 2 * heads * T * T * headDim + 2 * T * D * mlp * 2) + 2 * D * 10;

  return {
    config,
    params: store.params,
    noDecay: store.noDecay,
    flopsPerImage,
    async forward(be: Backend, images: Tensor, ctx: ForwardContext): Promise<Tensor> {
      const B = images.shape[0];
      // rows of [B·T, width] keep every dense layer one 2-D gemm over the whole batch
      const dense = async (x: Tensor, l: { w: Tensor; b: Tensor }): Promise<Tensor> => addBias(be, await matmul(be, x, l.w), l.b);
      const drop = async (x: Tensor): Promise<Tensor> => (config.dropout > 0 ? dropout(be, x, config.dropout, ctx.rng!, ctx.training) : x);
      const patches = await patchify(be, images, patch);
      let x = await dense(reshape(patches, [B * (T - 1), P]), embed);
      x = await prependToken(be, reshape(x, [B, T - 1, D]), cls);
      x = reshape(await addPositional(be, x, pos), [B * T, D]);
      for (let i = 0; i < blocks.length; i++) {
        const blk = blocks[i];
        const h = await layerNorm(be, x, blk.ln1.g, blk.ln1.b);
        const q = reshape(await dense(h, blk.q), [B, T, A]);
        const k = reshape(await dense(h, blk.k), [B, T, A]);
        const v = reshape(await dense(h, blk.v), [B, T, A]);
        const onProbs = ctx.onAttention ? (p: Float32Array) => ctx.onAttention!(i, p) : undefined;
        const att = await attention(be, q, k, v, heads, { onProbs });
        x = await add(be, x, await drop(await dense(reshape(att, [B * T, A]), blk.o)));
        const m = await gelu(be, await dense(await layerNorm(be, x, blk.ln2.g, blk.ln2.b), blk.fc1));
        x = await add(be, x, await drop(await dense(m, blk.fc2)));
      }
      x = await layerNorm(be, x, lnf.g, lnf.b);
      const c = await selectToken(be, reshape(x, [B, T, D]), 0);
      return dense(c, head);
    },
  };
}
