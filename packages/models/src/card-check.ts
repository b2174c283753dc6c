import type { ModelCalibration } from './calibrate-model.js';
import type { EvaluationSummary, ModelCard } from './card.js';

/** How close a re-measured calibration must be to the card's: backends differ in the last float32 bits of the logits. */
const TOLERANCE = { temperature: 1e-4, ece: 1e-4, loss: 1e-5, threshold: 1e-4 };

/**
 * What differs between a card and a fresh measurement of its weights on the full test set:
 * accuracy exactly, calibration and uncertainty threshold within TOLERANCE. Empty when they agree.
 */
export function cardDifferences(card: ModelCard, test: EvaluationSummary, measured: ModelCalibration): string[] {
  const out: string[] = [];
  if (Math.abs(card.metrics.test.accuracy - test.accuracy) > 1e-9) out.push(`accuracy ${test.accuracy} vs the card's ${card.metrics.test.accuracy}`);
  const c = card.calibration;
  const m = measured.calibration;
  if (!c) out.push('the card has no calibration (run the calibrate command)');
  else {
    if (Math.abs(c.temperature - m.temperature) > TOLERANCE.temperature * c.temperature) out.push(`temperature ${m.temperature} vs the card's ${c.temperature}`);
    if (Math.abs(c.ece.before - m.ece.before) > TOLERANCE.ece || Math.abs(c.ece.after - m.ece.after) > TOLERANCE.ece) out.push(`ECE ${m.ece.before} -> ${m.ece.after} vs the card's ${c.ece.before} -> ${c.ece.after}`);
    if (Math.abs(c.loss.before - m.loss.before) > TOLERANCE.loss || Math.abs(c.loss.after - m.loss.after) > TOLERANCE.loss) out.push(`loss ${m.loss.before} -> ${m.loss.after} vs the card's ${c.loss.before} -> ${c.loss.after}`);
  }
  const u = card.uncertainty;
  if (!u) out.push('the card has no uncertainty threshold (run the calibrate command)');
  else if (Math.abs(u.threshold - measured.uncertainty.threshold) > TOLERANCE.threshold) out.push(`uncertainty threshold ${measured.uncertainty.threshold} vs the card's ${u.threshold}`);
  return out;
}
