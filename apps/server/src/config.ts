// The server's configuration: what buildServer takes, and how main.ts reads it from the environment.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_STREAM_MAX_BYTES, DEFAULT_STREAM_MAX_ROWS } from '@digitlab/digit-csv';
import { MODES, isModeChoice, type Classifier, type ModeChoice, type ModelName } from '@digitlab/models';

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
  /** Largest JSON request body in bytes. Default 10 MiB. */
  readonly bodyLimit?: number;
  /** Most images in one JSON request. Default 1000. */
  readonly maxImages?: number;
  /** Largest CSV file (raw body or upload) in bytes, read as a stream. Default 256 MiB. */
  readonly fileBodyLimit?: number;
  /** Most rows (images) in one CSV file. Default 100,000. */
  readonly fileMaxRows?: number;
  /** Longest a CSV file may take, reading and predicting, in ms. Default 600,000 (10 min). */
  readonly fileTimeoutMs?: number;
  /** Images of a CSV file sent to the models at a time. Default 64 (MAX_BATCH's default): a file's batch takes its turn in the queues like a request's. */
  readonly fileBatch?: number;
  /** Most images the models run in one batch: concurrent requests are gathered up to this. Default 64. */
  readonly maxBatch?: number;
  /** Longest a request waits for others to join its batch, in ms. Default 2. */
  readonly maxBatchWaitMs?: number;
  /** Most images waiting per model; beyond it requests get 503 QUEUE_FULL with Retry-After. Default 256. */
  readonly queueLimit?: number;
  /** Longest expected queue wait (ms) a request is admitted to: beyond it, 503 QUEUE_FULL with Retry-After at once. Default 100. */
  readonly maxQueueWaitMs?: number;
  /** Most images waiting per model in the queue of explained requests (?explain=1); beyond it, 503 QUEUE_FULL with Retry-After. Default 64. */
  readonly explainQueueLimit?: number;
  /** Longest expected wait (ms) an explained request is admitted to in its queue; beyond it, 503 QUEUE_FULL with Retry-After at once. Default 5,000. */
  readonly explainMaxQueueWaitMs?: number;
  /** Deadline of a /predict or /v2 request from its arrival, in ms; past it, 503 DEADLINE_EXCEEDED. Default 10,000. */
  readonly requestTimeoutMs?: number;
  /** Threads of each model worker's async backend pool (unset: the engine's default). */
  readonly poolSize?: number;
  /** Compile every batch bucket before answering (default true); false compiles each on its first use, for quick test servers. */
  readonly warm?: boolean;
  /** Nice steps the model workers run below the HTTP thread (0-19, Linux): the thread that parses, answers and probes gets the CPU first. Default 5. */
  readonly workerNice?: number;
  /** Port of the probe listener: GET /health/live and /health/ready answered on a thread of their own (0 picks a free port). Unset: none, the probes answer on the main port only. */
  readonly healthPort?: number;
  /** Address the probe listener listens on. Default '0.0.0.0'. */
  readonly healthHost?: string;
  /** Longest the HTTP thread's event loop may stand still before the probe listener's liveness answers 503 stalled, in ms. Default 5,000. */
  readonly healthStallMs?: number;
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
}

/** ServerConfig with every default filled in. */
export interface ResolvedConfig {
  readonly weightsDir: string;
  readonly backend: ModeChoice;
  readonly classifiers: Partial<Record<ModelName, PredictingModel>>;
  readonly bodyLimit: number;
  readonly maxImages: number;
  readonly fileBodyLimit: number;
  readonly fileMaxRows: number;
  readonly fileTimeoutMs: number;
  readonly fileBatch: number;
  readonly maxBatch: number;
  readonly maxBatchWaitMs: number;
  readonly queueLimit: number;
  readonly maxQueueWaitMs: number;
  readonly explainQueueLimit: number;
  readonly explainMaxQueueWaitMs: number;
  readonly requestTimeoutMs: number;
  readonly poolSize: number | undefined;
  readonly warm: boolean;
  readonly workerNice: number;
  readonly healthPort: number | undefined;
  readonly healthHost: string;
  readonly healthStallMs: number;
  readonly corsOrigin: '*' | readonly string[] | false;
  readonly logger: boolean | string;
  readonly publicDir: string;
  readonly elementBundle: string;
  readonly reportsDir: string;
}

/** Default largest JSON body: JSON is parsed whole, so it stays small; files go as CSV streams. */
export const DEFAULT_JSON_BODY_LIMIT = 10 * 1024 * 1024;
/** Default most images per JSON request. */
export const DEFAULT_JSON_MAX_IMAGES = 1000;
export const DEFAULT_FILE_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_BATCH = 64;
/** A file goes to the models a batch at a time, each queued behind the requests before it, so a batch's compute stays within the queue wait single requests are admitted to. */
export const DEFAULT_FILE_BATCH = DEFAULT_MAX_BATCH;
export const DEFAULT_MAX_BATCH_WAIT_MS = 2;
export const DEFAULT_QUEUE_LIMIT = 256;
/** Default longest expected queue wait: a request that would queue longer is refused, not kept waiting. */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 100;
/** Default most images waiting to be explained per model: two of the largest explained requests. */
export const DEFAULT_EXPLAIN_QUEUE_LIMIT = 64;
/** Default longest expected wait of an explained request: its maps take a backward pass or a read-out per image, so seconds, not milliseconds. */
export const DEFAULT_EXPLAIN_MAX_QUEUE_WAIT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Default nice steps of the model workers below the HTTP thread. */
export const DEFAULT_WORKER_NICE = 5;
/** Default stall limit of the probe listener's liveness: far beyond any event-loop delay of a busy server, well within an orchestrator's patience. */
export const DEFAULT_HEALTH_STALL_MS = 5_000;

/** Fills in the defaults of a ServerConfig. */
export function resolveConfig(config: ServerConfig): ResolvedConfig {
  return {
    weightsDir: config.weightsDir ?? resolve(REPO_ROOT, 'weights'),
    backend: config.backend ?? 'async',
    classifiers: config.classifiers ?? {},
    bodyLimit: config.bodyLimit ?? DEFAULT_JSON_BODY_LIMIT,
    maxImages: config.maxImages ?? DEFAULT_JSON_MAX_IMAGES,
    fileBodyLimit: config.fileBodyLimit ?? DEFAULT_STREAM_MAX_BYTES,
    fileMaxRows: config.fileMaxRows ?? DEFAULT_STREAM_MAX_ROWS,
    fileTimeoutMs: config.fileTimeoutMs ?? DEFAULT_FILE_TIMEOUT_MS,
    fileBatch: config.fileBatch ?? DEFAULT_FILE_BATCH,
    maxBatch: config.maxBatch ?? DEFAULT_MAX_BATCH,
    maxBatchWaitMs: config.maxBatchWaitMs ?? DEFAULT_MAX_BATCH_WAIT_MS,
    queueLimit: config.queueLimit ?? DEFAULT_QUEUE_LIMIT,
    maxQueueWaitMs: config.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS,
    explainQueueLimit: config.explainQueueLimit ?? DEFAULT_EXPLAIN_QUEUE_LIMIT,
    explainMaxQueueWaitMs: config.explainMaxQueueWaitMs ?? DEFAULT_EXPLAIN_MAX_QUEUE_WAIT_MS,
    requestTimeoutMs: config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    poolSize: config.poolSize,
    warm: config.warm ?? true,
    workerNice: config.workerNice ?? DEFAULT_WORKER_NICE,
    healthPort: config.healthPort,
    healthHost: config.healthHost ?? '0.0.0.0',
    healthStallMs: config.healthStallMs ?? DEFAULT_HEALTH_STALL_MS,
    corsOrigin: config.corsOrigin ?? '*',
    logger: config.logger ?? false,
    publicDir: config.publicDir ?? resolve(REPO_ROOT, 'apps/server/public'),
    elementBundle: config.elementBundle ?? resolve(REPO_ROOT, 'packages/element/dist/element.js'),
    reportsDir: config.reportsDir ?? resolve(REPO_ROOT, 'reports'),
  };
}

/** A bad environment variable: main.ts prints it and exits non-zero. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface EnvConfig extends ServerConfig {
  readonly port: number;
  readonly host: string;
  /** On SIGTERM, how long to keep listening while draining (readiness 503) before closing, so a load balancer stops sending first. */
  readonly drainDelayMs: number;
}

/** Reads every setting from the environment (the README's table); unset means the default. */
export function configFromEnv(env: NodeJS.ProcessEnv): EnvConfig {
  const backend = env.BACKEND ?? 'async';
  if (!isModeChoice(backend)) throw new ConfigError(`BACKEND=${backend} is not a gpu.js mode; use auto or one of ${MODES.join(', ')}.`);
  const host = env.HOST ?? '0.0.0.0';
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    drainDelayMs: integer(env, 'DRAIN_DELAY_MS', 0, 0, 600_000),
    weightsDir: env.WEIGHTS_DIR === undefined ? resolve(REPO_ROOT, 'weights') : resolve(env.WEIGHTS_DIR),
    backend,
    bodyLimit: integer(env, 'BODY_LIMIT', DEFAULT_JSON_BODY_LIMIT, 1024, 1024 ** 3),
    maxImages: integer(env, 'MAX_IMAGES', DEFAULT_JSON_MAX_IMAGES, 1, 1_000_000),
    fileBodyLimit: integer(env, 'FILE_BODY_LIMIT', DEFAULT_STREAM_MAX_BYTES, 1024, 16 * 1024 ** 3),
    fileMaxRows: integer(env, 'FILE_MAX_ROWS', DEFAULT_STREAM_MAX_ROWS, 1, 100_000_000),
    fileTimeoutMs: integer(env, 'FILE_TIMEOUT_MS', DEFAULT_FILE_TIMEOUT_MS, 1, 24 * 3600_000),
    fileBatch: integer(env, 'FILE_BATCH', DEFAULT_FILE_BATCH, 1, 4096),
    maxBatch: integer(env, 'MAX_BATCH', DEFAULT_MAX_BATCH, 1, 4096),
    maxBatchWaitMs: integer(env, 'MAX_BATCH_WAIT_MS', DEFAULT_MAX_BATCH_WAIT_MS, 0, 10_000),
    queueLimit: integer(env, 'QUEUE_LIMIT', DEFAULT_QUEUE_LIMIT, 1, 10_000_000),
    maxQueueWaitMs: integer(env, 'MAX_QUEUE_WAIT_MS', DEFAULT_MAX_QUEUE_WAIT_MS, 0, 3600_000),
    explainQueueLimit: integer(env, 'EXPLAIN_QUEUE_LIMIT', DEFAULT_EXPLAIN_QUEUE_LIMIT, 1, 10_000_000),
    explainMaxQueueWaitMs: integer(env, 'EXPLAIN_MAX_QUEUE_WAIT_MS', DEFAULT_EXPLAIN_MAX_QUEUE_WAIT_MS, 0, 3600_000),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, 1, 3600_000),
    warm: boolean(env, 'WARM', true),
    workerNice: integer(env, 'WORKER_NICE', DEFAULT_WORKER_NICE, 0, 19),
    ...(env.POOL_SIZE === undefined || env.POOL_SIZE === '' ? {} : { poolSize: integer(env, 'POOL_SIZE', 1, 1, 64) }),
    ...(env.HEALTH_PORT === undefined || env.HEALTH_PORT === '' ? {} : { healthPort: integer(env, 'HEALTH_PORT', 0, 0, 65535) }),
    healthHost: host,
    healthStallMs: integer(env, 'HEALTH_STALL_MS', DEFAULT_HEALTH_STALL_MS, 100, 3600_000),
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

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name}=${raw} is not a boolean; use true or false.`);
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
