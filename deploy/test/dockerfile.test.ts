// deploy/Dockerfile without a Docker engine: every step runs a command that exists here (the pnpm
// version and install steps of package.json and scripts/setup.sh, workspace packages and their
// scripts, the tsx version), copies files that exist, and the image holds what the server reads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './cluster.ts';
import { measured } from './readme.ts';

interface Instruction {
  readonly stage: string;
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions, continuation lines joined, each with the stage it belongs to. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const result: Instruction[] = [];
  let stage = '';
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword === 'FROM') stage = args.match(/\sAS\s+(\S+)$/i)?.[1] ?? args;
    result.push({ stage, keyword: keyword.toUpperCase(), args });
  }
  return result;
}

/** Shell words, quotes removed ("a b" stays one word). */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(resolve(ROOT, path), 'utf8')) as Record<string, unknown>;
const dockerfile = instructions(readFileSync(resolve(ROOT, 'deploy/Dockerfile'), 'utf8'));
const rootPackage = json('package.json');
const setup = readFileSync(resolve(ROOT, 'scripts/setup.sh'), 'utf8');

/** The workspace's packages: directory -> package.json, from pnpm-workspace.yaml's globs. */
function workspace(): Map<string, { name: string; scripts: Record<string, string>; dependencies: Record<string, string> }> {
  const globs = (parse(readFileSync(resolve(ROOT, 'pnpm-workspace.yaml'), 'utf8')) as { packages: string[] }).packages;
  const found = new Map<string, { name: string; scripts: Record<string, string>; dependencies: Record<string, string> }>();
  for (const glob of globs) {
    const dirs = glob.endsWith('/*')
      ? readdirNames(glob.slice(0, -2)).map((name) => `${glob.slice(0, -2)}/${name}`)
      : [glob];
    for (const dir of dirs) {
      if (!existsSync(resolve(ROOT, dir, 'package.json'))) continue;
      const manifest = json(`${dir}/package.json`) as { name: string; scripts?: Record<string, string>; dependencies?: Record<string, string> };
      found.set(dir, { name: manifest.name, scripts: manifest.scripts ?? {}, dependencies: manifest.dependencies ?? {} });
    }
  }
  return found;
}
function readdirNames(dir: string): string[] {
  return readdirSync(resolve(ROOT, dir), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}
const packages = workspace();
const byName = new Map([...packages].map(([dir, manifest]) => [manifest.name, { dir, ...manifest }]));

/** The stage names this stage builds on (FROM <stage>), itself first. */
function lineage(stage: string): string[] {
  const from = dockerfile.find((i) => i.keyword === 'FROM' && i.stage === stage)?.args.split(/\s+/)[0];
  const parent = dockerfile.some((i) => i.keyword === 'FROM' && i.stage === from) ? from : undefined;
  return parent === undefined ? [stage] : [stage, ...lineage(parent)];
}

/** Commands (split on &&) of the RUN steps in `stage`, or in every stage. */
function runCommands(stage?: string): string[][] {
  return dockerfile
    .filter((i) => i.keyword === 'RUN' && (stage === undefined || i.stage === stage))
    .flatMap((i) => i.args.split('&&').map((command) => words(command.trim())));
}

const pnpmVersion = String(rootPackage.packageManager).replace(/^pnpm@/, '');
const devDependencies = rootPackage.devDependencies as Record<string, string>;

describe('deploy/Dockerfile', () => {
  test('stages: build and runtime on the same Node 24 slim base; the image is the runtime stage', () => {
    const image = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args.split('=')[1];
    expect(image).toMatch(/^node:24[\w.-]*-slim$/);
    const stages = dockerfile.filter((i) => i.keyword === 'FROM');
    expect(stages.map((i) => i.stage)).toEqual(['base', 'build', 'runtime']);
    expect(stages[0].args).toMatch(/^\$\{NODE_IMAGE\} AS base$/);
    expect(lineage('build')).toEqual(['build', 'base']);
    expect(lineage('runtime')).toEqual(['runtime', 'base']);
    expect(dockerfile.at(-1)?.stage).toBe('runtime');
  });

  test('every RUN step is a known command, and each names a version, package or script that exists', () => {
    for (const command of runCommands()) {
      const [tool, ...args] = command;
      const line = command.join(' ');
      if (tool === 'npm') {
        // Global installs of the pinned tools only, at the versions package.json pins.
        expect(args.slice(0, 2), line).toEqual(['i', '-g']);
        const [name, version] = args[2].split('@');
        const pinned = name === 'pnpm' ? pnpmVersion : devDependencies[name];
        expect(pinned, `${name} is pinned in package.json`).toBeDefined();
        expect(version, line).toBe(pinned);
      } else if (tool === 'pnpm' && args[0] === 'install') {
        expect(args, `${line}: installs from the lockfile as scripts/setup.sh does`).toContain('--frozen-lockfile');
        for (let i = 1; i < args.length; i++) {
          if (args[i] === '--filter') {
            const name = args[++i].replace(/\.\.\.$/, '');
            expect(byName.has(name), `${line}: workspace package ${name}`).toBe(true);
          } else {
            expect(['--frozen-lockfile', '--prod'], line).toContain(args[i]);
          }
        }
      } else if (tool === 'pnpm' && args[0] === '--filter') {
        const target = byName.get(args[1]);
        expect(target, `${line}: workspace package ${args[1]}`).toBeDefined();
        expect(Object.keys(target?.scripts ?? {}), `${line}: a script of ${args[1]}`).toContain(args[2]);
      } else if (tool === 'ln') {
        // Only to link a globally installed tool where `node --import <tool>` resolves it.
        expect(args[0], line).toBe('-s');
        expect(args[1], line).toMatch(/^\$\(npm root -g\)\/[\w-]+$/);
        expect(args[2], line).toBe(`node_modules/${args[1].split('/').pop()}`);
      } else {
        throw new Error(`deploy/dockerfile.test.ts has no rule for the step "${line}"; add one that checks it`);
      }
    }
  });

  test("the install steps are the README's: the pnpm of package.json, then pnpm install --frozen-lockfile", () => {
    expect(setup).toContain(`npm i -g pnpm@${pnpmVersion}`);
    expect(setup).toContain('pnpm install --frozen-lockfile');
    const base = runCommands('base').map((c) => c.join(' '));
    expect(base).toEqual([`npm i -g pnpm@${pnpmVersion}`]);
    expect(runCommands('build').map((c) => c.join(' '))[0]).toBe('pnpm install --frozen-lockfile');
  });

  test('every workspace manifest, the lockfile and the patches are copied before any install', () => {
    const base = dockerfile.filter((i) => i.stage === 'base' && i.keyword === 'COPY').map((i) => words(i.args));
    const copied = base.flatMap((w) => w.slice(0, -1));
    for (const file of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'patches/']) expect(copied).toContain(file);
    for (const dir of packages.keys()) expect(copied, `${dir}/package.json`).toContain(`${dir}/package.json`);
    const patched = Object.values((rootPackage.pnpm as { patchedDependencies: Record<string, string> }).patchedDependencies);
    for (const patch of patched) expect(patch.startsWith('patches/')).toBe(true);
  });

  test('every COPY from the context names a file that exists and is not left out by .dockerignore', () => {
    const ignored = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const copy of dockerfile.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = words(copy.args).slice(0, -1);
      for (const source of sources) {
        if (source === '.') continue;
        expect(existsSync(resolve(ROOT, source)), `COPY ${source}`).toBe(true);
        const top = source.replace(/\/$/, '');
        for (const pattern of ignored) expect(top === pattern || top.startsWith(`${pattern}/`), `${source} is ignored by ${pattern}`).toBe(false);
      }
    }
    // The context keeps what the image needs.
    for (const needed of ['weights', 'reports', 'apps', 'packages', 'patches', 'pnpm-lock.yaml']) expect(ignored).not.toContain(needed);
  });

  test('the runtime stage holds the server, every workspace package it imports, and the files it reads by default', () => {
    const runtime = dockerfile.filter((i) => i.stage === 'runtime' && i.keyword === 'COPY').map((i) => words(i.args).at(-1));
    // The server's workspace dependencies, transitively.
    const needed = new Set<string>();
    const visit = (name: string): void => {
      const entry = byName.get(name);
      if (entry === undefined || needed.has(entry.dir)) return;
      needed.add(entry.dir);
      for (const [dependency, range] of Object.entries(entry.dependencies)) if (range.startsWith('workspace:')) visit(dependency);
    };
    visit('@digitlab/server');
    expect(needed.size).toBeGreaterThanOrEqual(2);
    for (const dir of needed) expect(runtime, dir).toContain(`${dir}/`);
    // config.ts's defaults: weights/, apps/server/public, the element bundle, reports/.
    const config = readFileSync(resolve(ROOT, 'apps/server/src/config.ts'), 'utf8');
    for (const path of ["'weights'", "'apps/server/public'", "'packages/element/dist/element.js'", "'reports'"]) expect(config).toContain(path);
    for (const dest of ['weights/', 'reports/', 'apps/server/', 'packages/element/dist/']) expect(runtime).toContain(dest);
    for (const file of ['weights/cnn.safetensors', 'weights/vit.safetensors', 'apps/server/public']) expect(existsSync(resolve(ROOT, file)), file).toBe(true);
    // The bundle comes from the build stage, which runs the element's build script that writes it.
    const fromBuild = dockerfile.find((i) => i.stage === 'runtime' && i.args.startsWith('--from=build'));
    expect(fromBuild?.args).toBe('--from=build /app/packages/element/dist/ packages/element/dist/');
    expect(readFileSync(resolve(ROOT, 'packages/element/scripts/build.ts'), 'utf8')).toMatch(/join\(packageDir, 'dist', 'element\.js'\)/);
  });

  test('CMD runs the server entry of `pnpm start` with node as PID 1, tsx provided in the runtime stage', () => {
    const cmd = dockerfile.filter((i) => i.keyword === 'CMD').at(-1);
    const argv = JSON.parse(cmd?.args ?? 'null') as string[];
    expect(argv.slice(0, 3)).toEqual(['node', '--import', 'tsx']);
    const entry = argv[3];
    expect(existsSync(resolve(ROOT, entry)), entry).toBe(true);
    const start = byName.get('@digitlab/server')?.scripts.start ?? '';
    const startEntry = words(start).find((word) => word.endsWith('.ts'));
    expect(startEntry, `the start script "${start}" names its entry`).toBeDefined();
    expect(resolve(ROOT, 'apps/server', startEntry ?? '')).toBe(resolve(ROOT, entry));
    const runtime = runCommands('runtime').map((c) => c.join(' '));
    expect(runtime).toContain(`npm i -g tsx@${devDependencies.tsx}`);
    expect(runtime).toContain('ln -s $(npm root -g)/tsx node_modules/tsx');
  });

  test('non-root, PORT and HEALTH_PORT honoured, HEALTHCHECK on /health/live of the probe port with a start period above the measured start-up', () => {
    const runtime = dockerfile.filter((i) => i.stage === 'runtime');
    expect(runtime.find((i) => i.keyword === 'USER')?.args).toBe('node');
    const env = runtime.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    const port = env.match(/\bPORT=(\d+)/)?.[1];
    expect(port).toBeDefined();
    const healthPort = env.match(/\bHEALTH_PORT=(\d+)/)?.[1];
    expect(healthPort).toBeDefined();
    expect(healthPort).not.toBe(port);
    expect(runtime.find((i) => i.keyword === 'EXPOSE')?.args.split(/\s+/)).toEqual([port, healthPort]);
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/);
    const health = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
    expect(health).toContain('/health/live');
    // The probe listener's port first: the main port's event loop can be held up by load.
    expect(health).toContain('process.env.HEALTH_PORT || process.env.PORT');
    expect(readFileSync(resolve(ROOT, 'apps/server/src/routes/info.ts'), 'utf8')).toContain("'/health/live'");
    const startPeriod = Number(health.match(/--start-period=(\d+)s/)?.[1]);
    expect(startPeriod).toBeGreaterThanOrEqual(4 * measured('start to /health/ready'));
    // The server reads PORT and HOST from the environment.
    const config = readFileSync(resolve(ROOT, 'apps/server/src/config.ts'), 'utf8');
    expect(config).toContain("'PORT'");
    expect(config).toContain('env.HOST');
  });
});
