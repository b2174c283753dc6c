import type { ModelCard, ModelName } from './card.js';

/**
 * A trained model ready to predict: what the server, the report and the benchmarks use.
 * Implemented in loadClassifier (weights checked against the card's sha256).
 */
export interface Classifier {
  readonly name: ModelName;
  readonly card: ModelCard;
  /**
   * Class probabilities for `count` images packed in `images` (count × 784 values in [0, 1],
   * row-major 28×28, MNIST orientation). Returns count × 10 probabilities.
   */
  predict(images: Float32Array, count: number): Promise<Float32Array>;
}
