// Option values of the repository's command lines (the models CLI, the benchmarks, the report), all
// parsed by commander: a bad value is a usage error naming the option and what it accepts.
import { InvalidArgumentError } from 'commander';
import { MODES, type Mode, type ModeChoice, isModeChoice } from '@digitlab/tensor';
import type { ModelName } from './card.js';

/** A non-negative integer. */
export function intOption(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** A positive integer. */
export function positiveIntOption(v: string): number {
  const n = intOption(v);
  if (n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** A non-negative number. */
export function floatOption(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

/** A comma-separated list of positive integers, e.g. "32,64". */
export function intListOption(v: string): number[] {
  return v.split(',').map((s) => positiveIntOption(s.trim()));
}

/** A comma-separated list of names, each one of `allowed`. */
export function listOption<T extends string>(allowed: readonly T[]): (v: string) => T[] {
  return (v) => {
    const items = v.split(',').map((s) => s.trim());
    const unknown = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (unknown.length) throw new InvalidArgumentError(`unknown ${unknown.join(', ')}; expected a comma-separated list of ${allowed.join(', ')}`);
    return items as T[];
  };
}

/** A regular expression. */
export function regexOption(v: string): RegExp {
  try {
    return new RegExp(v);
  } catch (e) {
    throw new InvalidArgumentError(`not a regular expression: ${(e as Error).message}`);
  }
}

/** A gpu.js mode or `auto`. */
export function modeChoiceOption(v: string): ModeChoice {
  if (!isModeChoice(v)) throw new InvalidArgumentError(`expected auto or one of ${MODES.join(', ')}`);
  return v;
}

/** A gpu.js mode. */
export function modeOption(v: string): Mode {
  if (!(MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${MODES.join(', ')}`);
  return v as Mode;
}

/** One of the two shipped models. */
export function modelNameOption(v: string): ModelName {
  if (v !== 'cnn' && v !== 'vit') throw new InvalidArgumentError('expected "cnn" or "vit"');
  return v;
}
