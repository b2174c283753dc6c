/**
 * `<digit-trainer>`: importing this module registers the element. The bundle built from it
 * (dist/trainer.js, with dist/trainer-worker.js beside it) is all a page needs:
 *
 *   <script type="module" src="https://your-server/trainer.js"></script>
 *   <digit-trainer preset="cnn-small" epochs="1"></digit-trainer>
 */
import { DigitTrainer } from './digit-trainer.component.ts';

export { DigitTrainer, type TrainerDoneDetail, type TrainerEpochDetail, type TrainerErrorDetail } from './digit-trainer.component.ts';
export { BROWSER_MODES, type BrowserMode, type BackendPreference, type BackendTrial } from './modes.ts';

export const TAG = 'digit-trainer';

// Registering twice (two copies of the bundle on one page) would throw; the first one wins.
if (!customElements.get(TAG)) customElements.define(TAG, DigitTrainer);

declare global {
  interface HTMLElementTagNameMap {
    'digit-trainer': DigitTrainer;
  }
}
