/** The sentence a screen reader hears when answers arrive. */
import { batchStats } from './batch-stats.ts';
import { percent, plural, share, thousands, topProbability } from './format.ts';
import type { ImagePrediction, ModelAnswer } from './predict-client.ts';

/** One image: each model's digit and confidence, and whether they agree; a batch: its figures. */
export function describeAnswers(predictions: readonly ImagePrediction[], labels: readonly (number | null)[]): string {
  if (predictions.length === 1) {
    const [p] = predictions;
    const say = (name: string, a: ModelAnswer | null) => (a ? `${name} reads ${a.digit}, ${percent(topProbability(a))} sure.` : `${name} is not available.`);
    const both = `${say('CNN', p.cnn)} ${say('ViT', p.vit)}`;
    if (p.cnn && p.vit) return `${both} The models ${p.cnn.digit === p.vit.digit ? 'agree' : 'disagree'}.`;
    return both;
  }
  const stats = batchStats(predictions.length, predictions, labels);
  let sentence = `${plural(predictions.length, 'image')} classified.`;
  if (stats.compared > 0) sentence += ` The models agree on ${thousands(stats.agree)} of ${thousands(stats.compared)}.`;
  if (stats.labelled > 0) {
    const right = (name: string, n: number | null) => (n === null ? '' : ` ${name} ${share(n, stats.labelled)} correct.`);
    sentence += `${right('CNN', stats.correct.cnn)}${right('ViT', stats.correct.vit)}`;
  }
  return sentence;
}
