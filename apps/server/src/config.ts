// The server's configuration: what buildServer takes, and how main.ts reads it from the environment.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Classifier, ModelName } from '@digitlab/models';
import { MODES, type ModeChoice, isModeChoice } from '@digitlab/tensor';

/** The repository root (apps/server/src -> ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** What the server needs of a model: a subset of @digitlab/models' Classifier, so tests and tools can pass their own. */
export type PredictingModel = Pick<Classifier, 'name' | 'card' | 'predict'> & { close?(): void };

export const MODEL_NAMES: readonly ModelName[] = ['cnn', 'vit'];

export interface ServerConfig {
  /** Where <name>.safetensors and <name>.json live. Default <repo>/weights. */
  readonly weightsDir?: string;
  /** gpu.js mode the models run in, or 'auto' to time the modes at start-up and keep the fastest. Default 'async'. */
  readonly backend?: ModeChoice;
  /** Models to use instead of loading them from weightsDir (a missing key is loaded from weightsDir). */
  readonly classifiers?: Partial<Record<ModelName, PredictingModel>>;
  /** Largest request body in bytes, any content type. Default 10 MiB. */
  readonly bodyLimit?: number;
  /** Most images in one request. Default 1000. */
  readonly maxImages?: number;
  /** Allowed CORS origins: '*' (default), a list, or false to send no CORS headers. */
  readonly corsOrigin?: '*' | readonly string[] | false;
  /** Fastify logger: false (default) or true / a pino level such as 'info'. */
  readonly logger?: boolean | string;
  /** Directory of the demo page. Default apps/server/public. */
  readonly publicDir?: string;
  /** The web component bundle served at /element.js. Default packages/element/dist/element.js. */
  readonly elementBundle?: string;
  /** Directory of the report served at /report. Default <repo>/reports. */
  readonly reportsDir?: string;
  /** Run one blank image through each model before answering, so no request pays for kernel compilation. Default true. */
  readonly warmup?: boolean;
}

/** ServerConfig with every default filled in. */
export interface ResolvedConfig {
  readonly weightsDir: string;
  readonly backend: ModeChoice;
  readonly classifiers: Partial<Record<ModelName, PredictingModel>>;
  readonly bodyLimit: number;
  readonly maxImages: number;
  readonly corsOrigin: '*' | readonly string[] | false;
  readonly logger: boolean | string;
  readonly publicDir: string;
  readonly elementBundle: string;
  readonly reportsDir: string;
  readonly warmup: boolean;
}

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
export const DEFAULT_MAX_IMAGES = 1000;

/** Fills in the defaults of a ServerConfig. */
export function resolveConfig(config: ServerConfig): ResolvedConfig {
  return {
    weightsDir: config.weightsDir ?? resolve(REPO_ROOT, 'weights'),
    backend: config.backend ?? 'async',
    classifiers: config.classifiers ?? {},
    bodyLimit: config.bodyLimit ?? DEFAULT_BODY_LIMIT,
    maxImages: config.maxImages ?? DEFAULT_MAX_IMAGES,
    corsOrigin: config.corsOrigin ?? '*',
    logger: config.logger ?? false,
    publicDir: config.publicDir ?? resolve(REPO_ROOT, 'apps/server/public'),
    elementBundle: config.elementBundle ?? resolve(REPO_ROOT, 'packages/element/dist/element.js'),
    reportsDir: config.reportsDir ?? resolve(REPO_ROOT, 'reports'),
    warmup: config.warmup ?? true,
  };
}

/** A bad environment variable: main.ts prints it and exits non-zero. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface EnvConfig extends ServerConfig {
  readonly port: number;
  readonly host: string;
}

/** Reads PORT, HOST, WEIGHTS_DIR, BACKEND, BODY_LIMIT, MAX_IMAGES, CORS_ORIGIN and LOG_LEVEL. */
export function configFromEnv(env: NodeJS.ProcessEnv): EnvConfig {
  const backend = env.BACKEND ?? 'async';
  if (!isModeChoice(backend)) throw new ConfigError(`BACKEND=${backend} is not a gpu.js mode; use auto or one of ${MODES.join(', ')}.`);
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    weightsDir: env.WEIGHTS_DIR === undefined ? resolve(REPO_ROOT, 'weights') : resolve(env.WEIGHTS_DIR),
    backend,
    bodyLimit: integer(env, 'BODY_LIMIT', DEFAULT_BODY_LIMIT, 1024, 1024 ** 3),
    maxImages: integer(env, 'MAX_IMAGES', DEFAULT_MAX_IMAGES, 1, 1_000_000),
    corsOrigin: corsFrom(env.CORS_ORIGIN),
    logger: env.LOG_LEVEL ?? 'info',
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}=${raw} is not an integer from ${min} to ${max}.`);
  }
  return value;
}

/** CORS_ORIGIN: unset or '*' = any origin; 'false'/'none' = no CORS; else a comma-separated list of origins. */
function corsFrom(raw: string | undefined): '*' | readonly string[] | false {
  if (raw === undefined || raw.trim() === '' || raw.trim() === '*') return '*';
  if (raw === 'false' || raw === 'none') return false;
  return raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
}
