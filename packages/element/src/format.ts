/** Numbers as the element shows them. */
import type { ModelAnswer } from './predict-client.ts';

/** The probability of the digit a model chose. */
export function topProbability(answer: ModelAnswer): number {
  return answer.probabilities[answer.digit] ?? 0;
}

/** A probability as a percentage with one decimal; never "100%", since a softmax is never exactly 1. */
export function percent(p: number): string {
  const v = Math.min(1, Math.max(0, p)) * 100;
  if (v >= 99.95) return '>99.9%';
  if (v >= 0.1) return `${v.toFixed(1)}%`;
  return v > 0 ? '<0.1%' : '0%';
}

/** `part` of `whole` as a percentage with two decimals (accuracies read 99.51%, not 99.5%). */
export function share(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(2)}%`;
}

/** "1 image", "10,000 images". */
export function plural(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

/** A count with thousands separators. */
export function thousands(n: number): string {
  return n.toLocaleString('en');
}

/** `value` when it is a positive finite number, else `fallback` (for numeric attributes). */
export function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
