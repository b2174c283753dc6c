/**
 * `<digit-classifier>`: importing this module registers the element. The bundle built from it
 * (dist/element.js) is all a page needs:
 *
 *   <script type="module" src="https://your-server/element.js"></script>
 *   <digit-classifier endpoint="https://your-server/predict"></digit-classifier>
 */
import { DigitClassifier } from './digit-classifier.component.ts';

export { DigitClassifier, type DigitClassifierErrorDetail } from './digit-classifier.component.ts';
export type { ImagePrediction, ModelAnswer, PredictResponse } from './predict-client.ts';
export type { LocatedResponse, Provenance } from './local/local-client.ts';
export type { PredictMode } from './local/predictor.ts';
export { BROWSER_MODES, type BrowserMode } from './local/modes.ts';
export { mnistPreprocess, inkFromImageData, type InkImage } from './mnist-preprocess.ts';

export const TAG = 'digit-classifier';

// Registering twice (two copies of the bundle on one page) would throw; the first one wins.
if (!customElements.get(TAG)) customElements.define(TAG, DigitClassifier);

declare global {
  interface HTMLElementTagNameMap {
    'digit-classifier': DigitClassifier;
  }
}
