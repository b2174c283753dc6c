/**
 * Every flag the READMEs show on a `pnpm <command>` line is one that command's --help lists (and so
 * one its parser accepts): the documented commands keep working with the flags they show.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './product-voice.ts';

const run = promisify(execFile);

/** The root package.json's scripts that start a CLI, and the arguments that print its help. */
const COMMANDS: Readonly<Record<string, readonly string[]>> = {
  bench: ['bench/run.ts', '--help'],
  'bench:full': ['bench/run.ts', '--help'],
  'bench:browser': ['bench/browser/run.ts', '--help'],
  'bench:server': ['bench/server-load.ts', '--help'],
  report: ['packages/report/src/main.ts', '--help'],
  train: ['packages/models/src/cli.ts', 'train', '--help'],
  ship: ['packages/models/src/cli.ts', 'ship', '--help'],
  evaluate: ['packages/models/src/cli.ts', 'evaluate', '--help'],
};

const DOCS = ['README.md', 'bench/README.md', 'packages/report/README.md', 'packages/models/README.md', 'apps/server/README.md', 'deploy/README.md'];

/** The flags shown after `pnpm <command>` on each line of a Markdown text, by command. */
export function documentedFlags(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/\bpnpm ([a-z:]+)\b([^`|#]*)/g)) {
      const [, command, rest] = m;
        if (!(command in COMMANDS)) continue;
      const flags = out.get(command) ?? new Set<string>();
      for (const f of rest.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)) flags.add(f[1]);
      out.set(command, flags);
    }
  }
  return out;
}

describe('documented flags', () => {
  it('are read from the lines that run a command', () => {
    const found = documentedFlags(['pnpm bench --only conv --no-e2e   # comment --ignored', 'bash scripts/with-node.sh pnpm bench:server --duration 5', 'pnpm --filter x exec tsx y --z'].join('\n'));
    expect(Object.fromEntries([...found].map(([c, f]) => [c, [...f]]))).toEqual({ bench: ['--only', '--no-e2e'], 'bench:server': ['--duration'] });
  });

  it("are all in their command's --help", async () => {
    const documented = new Map<string, Set<string>>();
    for (const doc of DOCS) {
      for (const [command, flags] of documentedFlags(readFileSync(join(ROOT, doc), 'utf8'))) {
        documented.set(command, new Set([...(documented.get(command) ?? []), ...flags]));
      }
    }
    expect(documented.get('bench')?.size).toBeGreaterThan(3);
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    // one process per distinct CLI, side by side: each loads its whole program before printing
    const distinct = [...new Set(Object.values(COMMANDS).map((args) => args.join(' ')))];
    const outputs = await Promise.all(distinct.map(async (args) => [args, (await run(tsx, args.split(' '), { cwd: ROOT, timeout: 280_000 })).stdout] as const));
    const byArgs = new Map(outputs);
    const missing: string[] = [];
    for (const [command, args] of Object.entries(COMMANDS)) {
      const help = byArgs.get(args.join(' ')) ?? '';
      expect(help, command).toMatch(/^Usage: /);
      for (const flag of documented.get(command) ?? []) if (!new RegExp(`(^|[ ,])${flag}\\b`, 'm').test(help)) missing.push(`pnpm ${command} ${flag}`);
    }
    expect(missing).toEqual([]);
  }, 300_000);
});
