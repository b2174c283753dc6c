// A training run's folder on disk: the RunStore of the CLI and the tests.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './files.js';
import type { EpochLog } from './state.js';
import type { RunStore } from './train-loop.js';

/** The files of a run folder: the resumable checkpoint, the best epoch's weights and figures, the epoch log. */
export const RUN_FILES = {
  checkpoint: 'checkpoint.safetensors',
  best: 'best.safetensors',
  bestSummary: 'best.json',
  log: 'log.jsonl',
} as const;

/** A run folder on disk as a RunStore; the checkpoint and best files are replaced atomically. */
export function runFolder(dir: string): RunStore {
  mkdirSync(dir, { recursive: true });
  const path = (file: string): string => join(dir, file);
  return {
    where: path(RUN_FILES.checkpoint),
    readCheckpoint: () => (existsSync(path(RUN_FILES.checkpoint)) ? readFileSync(path(RUN_FILES.checkpoint)) : undefined),
    writeCheckpoint: (bytes) => writeFileAtomic(path(RUN_FILES.checkpoint), bytes),
    writeBest: (weights, summary) => {
      writeFileAtomic(path(RUN_FILES.best), weights);
      writeFileAtomic(path(RUN_FILES.bestSummary), new TextEncoder().encode(JSON.stringify(summary, null, 2)));
    },
    appendEpoch: (entry: EpochLog) => appendFileSync(path(RUN_FILES.log), `${JSON.stringify(entry)}\n`),
  };
}
