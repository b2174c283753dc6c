/**
 * What a batch of answers adds up to: how often the two models agree, and how often each is
 * right where the file has labels. The summary, the grid's filters and the screen-reader
 * sentence all read these, so each figure is computed in one place.
 */
import type { ImagePrediction } from './predict-client.ts';

export interface BatchStats {
  /** Images in the input. */
  total: number;
  /** Images answered so far. */
  answered: number;
  /** Answered images that both models read (a server may lack one model). */
  compared: number;
  /** Of those, the images both models read as the same digit. */
  agree: number;
  /** Answered images with a label. */
  labelled: number;
  /** Labelled images each model got right; null when the server lacks that model. */
  correct: { cnn: number | null; vit: number | null };
}

/** Which images the grid shows. */
export type GridFilter = 'all' | 'disagree' | 'wrong';

/** The label of image `i`: the server's echo of the CSV's label column, else the one read here. */
export function labelOf(predictions: readonly ImagePrediction[], labels: readonly (number | null)[], i: number): number | null {
  return predictions[i]?.label ?? labels[i] ?? null;
}

/** Both models answered, so they can be compared. */
export function bothRead(p: ImagePrediction): boolean {
  return p.cnn !== null && p.vit !== null;
}

/** Both models answered and read different digits. */
export function disagrees(p: ImagePrediction): boolean {
  return bothRead(p) && p.cnn?.digit !== p.vit?.digit;
}

/** A model that answered read something other than the label. */
export function wrong(p: ImagePrediction, label: number | null): boolean {
  return label !== null && [p.cnn, p.vit].some((a) => a !== null && a.digit !== label);
}

/** The figures of a batch: `predictions` are the answers so far, in input order. */
export function batchStats(total: number, predictions: readonly ImagePrediction[], labels: readonly (number | null)[]): BatchStats {
  let compared = 0;
  let agree = 0;
  let labelled = 0;
  let cnnRight = 0;
  let vitRight = 0;
  let hasCnn = false;
  let hasVit = false;
  predictions.forEach((p, i) => {
    if (p.cnn) hasCnn = true;
    if (p.vit) hasVit = true;
    if (bothRead(p)) {
      compared++;
      if (p.cnn?.digit === p.vit?.digit) agree++;
    }
    const label = labelOf(predictions, labels, i);
    if (label === null) return;
    labelled++;
    if (p.cnn?.digit === label) cnnRight++;
    if (p.vit?.digit === label) vitRight++;
  });
  return {
    total,
    answered: predictions.length,
    compared,
    agree,
    labelled,
    correct: { cnn: hasCnn ? cnnRight : null, vit: hasVit ? vitRight : null },
  };
}

/** The indices of the images `filter` keeps, in input order (unanswered images only under 'all'). */
export function filteredIndices(
  filter: GridFilter,
  total: number,
  predictions: readonly ImagePrediction[],
  labels: readonly (number | null)[],
): number[] {
  if (filter === 'all') return Array.from({ length: total }, (_, i) => i);
  const keep: number[] = [];
  predictions.forEach((p, i) => {
    if (filter === 'disagree' ? disagrees(p) : wrong(p, labelOf(predictions, labels, i))) keep.push(i);
  });
  return keep;
}
