// What deploy/README.md states, read back by the tests that hold the files to it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './cluster.ts';

const README = readFileSync(resolve(ROOT, 'deploy/README.md'), 'utf8');

/** The backticked values in the README's settings-table row whose first cell is `label`. */
export function readmeRow(label: string): string[] {
  const row = README.split('\n').find((line) => line.startsWith(`| ${label} |`));
  if (row === undefined) throw new Error(`deploy/README.md has no row "| ${label} |"`);
  const cells = row.split('|').slice(2).join('|');
  return [...cells.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
}

/** A number from the README's measurement table (the row starting with `label`), e.g. "721 MiB" -> 721. */
export function measured(label: string): number {
  const row = README.split('\n').find((line) => line.startsWith(`| ${label}`));
  const value = row?.split('|')[2]?.match(/[\d.]+/)?.[0];
  if (value === undefined) throw new Error(`deploy/README.md has no measured "${label}"`);
  return Number(value);
}

