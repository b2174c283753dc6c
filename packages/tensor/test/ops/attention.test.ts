import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/backend.js';
import { Tensor } from '../../src/tensor.js';
import { checkOp, type OpCase } from '../testing/check-op.js';
import { attention } from '../../src/ops/attention.js';
import { attentionBackwardRef, attentionProbsRef, attentionRef } from '../../src/ops/attention.ref.js';

function attentionCase(name: string, B: number, T: number, D: number, H: number, scaleInputs = 1): OpCase {
  const shape = [B, T, D];
  const n = B * T * D;
  // deterministic, larger-than-uniform inputs make the softmax rows peaked, not flat
  const vals = (seed: number) => Array.from({ length: n }, (_, i) => scaleInputs * Math.sin(i * 0.731 + seed));
  return {
    name,
    inputs: { q: { shape, values: vals(0.3) }, k: { shape, values: vals(1.7) }, v: { shape } },
    forward: (be, t) => attention(be, t.q, t.k, t.v, H),
    reference: (t) => attentionRef(t.q, t.k, t.v, B, T, D, H),
    referenceBackward: (dy, t) => {
      const r = attentionBackwardRef(dy, t.q, t.k, t.v, B, T, D, H);
      return { q: r.dq, k: r.dk, v: r.dv };
    },
  };
}

describe('attention', () => {
  it('2 heads of 4, T = 5 (padded to 8)', async () => {
    await checkOp(attentionCase('attention B2 T5 D8 H2', 2, 5, 8, 2));
  });

  it('one head of 3, T = 4, peaked rows', async () => {
    await checkOp(attentionCase('attention B3 T4 D3 H1', 3, 4, 3, 1, 3));
  });

  it('4 heads of 2, T = 7, odd batch', async () => {
    await checkOp(attentionCase('attention B1 T7 D8 H4', 1, 7, 8, 4, 2));
  });

  it('the ViT token count T = 17 with 3 heads (a head split that is not a shift)', async () => {
    await checkOp(attentionCase('attention B2 T17 D6 H3', 2, 17, 6, 3, 2));
  });

  it('hands the probabilities [B, heads, T, T] to onProbs', async () => {
    const [B, T, D, H] = [2, 5, 6, 3];
    const q = Tensor.from([B, T, D], Array.from({ length: B * T * D }, (_, i) => Math.sin(i)));
    const k = Tensor.from([B, T, D], Array.from({ length: B * T * D }, (_, i) => Math.cos(i * 1.3)));
    const be = new Backend('webasm');
    try {
      let probs: Float32Array | null = null;
      await attention(be, q, k, k, H, { onProbs: (p) => (probs = p) });
      const ref = attentionProbsRef(q.data, k.data, B, T, D, H);
      expect(probs).not.toBeNull();
      expect(probs!.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(probs![i] - ref[i])).toBeLessThan(1e-5);
    } finally {
      be.destroy();
    }
  });

  it('rejects a model width not divisible by the heads', async () => {
    const x = Tensor.zeros([1, 2, 6]);
    const be = new Backend('cpu');
    try {
      await expect(attention(be, x, x, x, 4)).rejects.toThrow(/divisible/);
    } finally {
      be.destroy();
    }
  });
});
