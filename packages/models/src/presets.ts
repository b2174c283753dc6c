// The presets shipped in configs/, read from disk and checked.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Preset, validatePreset } from './config.js';

/** The folder of presets shipped with the package. */
export const CONFIG_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'configs');

/** Reads a preset by name (configs/<name>.json) or path, checking every field. */
export function loadPreset(nameOrPath: string): Preset {
  const path = nameOrPath.endsWith('.json') ? nameOrPath : join(CONFIG_DIR, `${nameOrPath}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read config ${path}: ${(e as Error).message}`);
  }
  return validatePreset(raw, path);
}
