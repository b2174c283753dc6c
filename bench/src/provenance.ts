import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The installed version of pkg as seen from the workspace package at root/from ('?' when absent), naming the patch pnpm applies to it. */
export function version(root: string, from: string, pkg: string): string {
  let v: string;
  try {
    v = (createRequire(join(root, from, 'package.json'))(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { pnpm?: { patchedDependencies?: Record<string, string> } };
  const patch = manifest.pnpm?.patchedDependencies?.[`${pkg}@${v}`];
  return patch ? `${v} with ${patch}` : v;
}

/** The short commit, with "+changes" when packages/, bench/ or patches/ differ from it (results then describe uncommitted code). */
export function commit(root: string): string {
  try {
    const sha = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- packages bench patches', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}
