export { buildServer } from './app.js';
export {
  configFromEnv,
  resolveConfig,
  ConfigError,
  REPO_ROOT,
  MODEL_NAMES,
  DEFAULT_JSON_BODY_LIMIT,
  DEFAULT_JSON_MAX_IMAGES,
  type ServerConfig,
  type ResolvedConfig,
  type EnvConfig,
  type PredictingModel,
} from './config.js';
export { loadModels, runnerOf, WeightsError, type ModelSet } from './models.js';
export type { Prediction, Answer } from './inference/predict.js';
export { ACCEPTED_TYPES, HttpError, errorBody, type ErrorBody } from './errors.js';
