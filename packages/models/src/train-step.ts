import { SIDE } from '@digitlab/digit-csv';
import { type Adam, type Backend, type Rng, Tensor, backward, softmaxCrossEntropy } from '@digitlab/tensor';
import type { AugmentConfig } from './augment.js';
import type { TrainConfig } from './config.js';
import { argmaxRow, fillBatch } from './data.js';
import type { MnistData } from './mnist.js';
import type { Model } from './model.js';

/** What one optimizer step measured on its batch. */
export interface StepResult {
  /** Mean training loss of the batch (label smoothing included). */
  readonly loss: number;
  /** Images of the batch whose largest logit was their label. */
  readonly correct: number;
}

/** The reusable buffers and fixed parts of a run's steps. */
export interface StepContext {
  readonly be: Backend;
  readonly model: Model;
  readonly opt: Adam;
  readonly train: TrainConfig;
  readonly augment: AugmentConfig;
  /** The run's one generator: augmentation and dropout draw from it in a fixed order. */
  readonly rng: Rng;
  /** batchSize × PIXELS (@digitlab/digit-csv), refilled every step. */
  readonly batch: Float32Array;
  /** batchSize labels, refilled every step. */
  readonly labels: Uint8Array;
}

/**
 * One AdamW step on the images at `indices` of `data` at learning rate `lr`: fill the batch
 * (augmented), forward, cross-entropy, backward, update. Throws when the loss is not finite,
 * naming `where` (e.g. "at epoch 2 step 17").
 * The same step the CLI's train() and the browser trainer run, so both draw the same random numbers.
 */
export async function trainStep(ctx: StepContext, data: MnistData, indices: ArrayLike<number>, lr: number, where = ''): Promise<StepResult> {
  const { be, model, opt, train: t, rng, batch, labels } = ctx;
  fillBatch(data, indices, batch, labels, ctx.augment, rng);
  opt.lr = lr;
  const logits = await model.forward(be, new Tensor([t.batchSize, 1, SIDE, SIDE], batch), { training: true, rng });
  const loss = await softmaxCrossEntropy(be, logits, labels, { smoothing: t.labelSmoothing ?? 0 });
  await backward(loss);
  opt.step();
  const lv = loss.data[0];
  if (!Number.isFinite(lv)) throw new Error(`loss became ${lv}${where ? ` ${where}` : ''}; lower the learning rate`);
  let correct = 0;
  for (let i = 0; i < t.batchSize; i++) if (argmaxRow(logits.data, i) === labels[i]) correct++;
  return { loss: lv, correct };
}
