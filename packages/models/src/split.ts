// The validation split, without Node's fs: a browser worker splits the images it was handed the same way.
import { PIXELS } from '@digitlab/digit-csv';
import { Rng } from '@digitlab/tensor';
import type { MnistData, MnistSubset } from './mnist.js';

/** Images start..end of a data set with their labels, as views (no copy). */
export function sliceImages(data: MnistData, start: number, end = data.count): MnistData {
  const to = Math.min(end, data.count);
  return { ...data, count: to - start, images: data.images.subarray(start * PIXELS, to * PIXELS), labels: data.labels.subarray(start, to) };
}

/**
 * Splits training data into a seeded random validation set of `validationCount` images and the
 * rest for training. Refuses the test split, which is only ever used for final evaluation.
 */
export function splitValidation(
  data: MnistData,
  validationCount: number,
  seed: number,
): { train: MnistSubset; validation: MnistSubset } {
  if (data.split === 'test') {
    throw new Error('splitValidation: refusing to split the test set; validation must come from the training data');
  }
  if (!Number.isInteger(validationCount) || validationCount < 0 || validationCount >= data.count) {
    throw new RangeError(
      `splitValidation: validationCount must be an integer in [0, ${data.count - 1}] (some training data must remain); got ${validationCount}`,
    );
  }
  const order = new Int32Array(data.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Rng(seed).shuffle(order);
  // Ascending order keeps each subset in the source's order; epochs reshuffle with their own Rng.
  const validationIdx = order.slice(0, validationCount).sort();
  const trainIdx = order.slice(validationCount).sort();
  return {
    train: gather(data, trainIdx, 'train'),
    validation: gather(data, validationIdx, 'validation'),
  };
}

function gather(data: MnistData, indices: Int32Array, split: MnistData['split']): MnistSubset {
  const images = new Float32Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    images.set(data.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    labels[k] = data.labels[i];
  }
  return { split, images, labels, count: indices.length, indices };
}
