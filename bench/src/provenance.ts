import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The installed version of pkg as seen from the workspace package at root/from ('?' when absent). */
export function version(root: string, from: string, pkg: string): string {
  try {
    return (createRequire(join(root, from, 'package.json'))(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** The short commit, with "+changes" when packages/ or bench/ differ from it (results then describe uncommitted code). */
export function commit(root: string): string {
  try {
    const sha = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- packages bench', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}
