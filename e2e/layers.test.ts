/**
 * The packages' layers: a package reaches another only through the public exports it declares
 * (package.json "exports"), never by a path into its folder; it imports only the workspace
 * packages it depends on; and the engine and the CSV parser import none of the others. A failure
 * names the file, the line and the import.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './product-voice.ts';

interface Workspace {
  readonly name: string;
  /** Folder relative to the root, e.g. "packages/models". */
  readonly dir: string;
  /** Subpaths of "exports": ".", "./reference", ... */
  readonly exports: readonly string[];
  readonly dependencies: readonly string[];
}

/** Workspace packages each layer may not import, whatever their package.json says. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  '@digitlab/tensor': ['*'],
  '@digitlab/digit-csv': ['*'],
  '@digitlab/models': ['@digitlab/server', '@digitlab/element', '@digitlab/report', '@digitlab/bench', '@digitlab/e2e'],
  '@digitlab/server': ['@digitlab/element', '@digitlab/report', '@digitlab/bench', '@digitlab/e2e'],
  '@digitlab/element': ['@digitlab/server', '@digitlab/report', '@digitlab/bench', '@digitlab/e2e'],
};

/** Packages a layer reaches only through another's exports: the server uses the engine as @digitlab/models exports it. */
const THROUGH: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '@digitlab/server': { '@digitlab/tensor': '@digitlab/models' },
};

function workspaces(): Workspace[] {
  const dirs = ['packages', 'apps'].flatMap((top) => execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', `${top}/*/package.json`], { cwd: ROOT, encoding: 'utf8' }).split('\n')).concat(['bench/package.json', 'e2e/package.json']);
  return [...new Set(dirs.filter(Boolean))].map((file) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { name: string; exports?: string | Record<string, string>; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const exports = typeof pkg.exports === 'string' ? ['.'] : Object.keys(pkg.exports ?? {});
    return { name: pkg.name, dir: dirname(file), exports, dependencies: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }) };
  });
}

/** Every module specifier a source file imports or re-exports (static, dynamic, side effect only), with its line. */
export function importsOf(text: string): Array<{ line: number; spec: string }> {
  const out: Array<{ line: number; spec: string }> = [];
  const patterns = [/^\s*(?:import|export)\s[^;'"`]*?\sfrom\s*(['"])([^'"]+)\1/gm, /^\s*import\s*(['"])([^'"]+)\1/gm, /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const at = m.index + m[0].length - m[0].trimStart().length;
      out.push({ line: text.slice(0, at).split('\n').length, spec: m[2] });
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Whether a subpath ("." or "./x") matches one of the package's exports, "./configs/*" patterns included. */
function exported(w: Workspace, subpath: string): boolean {
  return w.exports.some((key) => {
    const star = key.indexOf('*');
    return star < 0 ? key === subpath : subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1)) && subpath.length >= key.length - 1;
  });
}

/** What is wrong with one import of `file` (relative to the root), or null. */
export function layerProblem(file: string, spec: string, all: readonly Workspace[]): string | null {
  const owner = all.find((w) => file.startsWith(`${w.dir}/`));
  if (spec.startsWith('.')) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
    const into = all.find((w) => target === w.dir || target.startsWith(`${w.dir}/`));
    if (into && into !== owner) return `reaches into ${into.name} by path (${target}); import "${into.name}" or one of its exports instead`;
    return null;
  }
  const m = /^(@digitlab\/[^/]+)(\/.*)?$/.exec(spec);
  if (!m) return null;
  const [, name, sub] = m;
  const target = all.find((w) => w.name === name);
  if (!target) return `imports ${name}, which is no workspace package`;
  if (!exported(target, sub ? `.${sub}` : '.')) return `imports ${spec}, which ${name} does not export (it exports ${target.exports.join(', ')})`;
  if (!owner) return null;
  if (owner !== target && !owner.dependencies.includes(name)) return `imports ${name} without depending on it in ${owner.dir}/package.json`;
  const via = THROUGH[owner.name]?.[name];
  if (via) return `imports ${name}; ${owner.name} reaches it only through ${via}, which exports what it needs`;
  const forbidden = FORBIDDEN[owner.name] ?? [];
  if (owner !== target && (forbidden.includes('*') || forbidden.includes(name))) return `imports ${name}: ${owner.name} sits below it`;
  return null;
}

describe('the layer check', () => {
  const all: Workspace[] = [
    { name: '@digitlab/tensor', dir: 'packages/tensor', exports: ['.', './reference'], dependencies: [] },
    { name: '@digitlab/models', dir: 'packages/models', exports: ['.'], dependencies: ['@digitlab/tensor'] },
    { name: '@digitlab/bench', dir: 'bench', exports: [], dependencies: ['@digitlab/models', '@digitlab/tensor'] },
  ];

  it('finds every kind of import, with its line', () => {
    const text = ["import { a } from './a.js';", 'import type {', '  B,', "} from '@digitlab/models';", "export { c } from '../c.js';", "import 'side-effect';", "const d = await import('./d.js');"].join('\n');
    expect(importsOf(text)).toEqual([
      { line: 1, spec: './a.js' },
      { line: 2, spec: '@digitlab/models' },
      { line: 5, spec: '../c.js' },
      { line: 6, spec: 'side-effect' },
      { line: 7, spec: './d.js' },
    ]);
  });

  it("flags a path into another package's src, a subpath it does not export, an undeclared dependency and an upward import", () => {
    expect(layerProblem('bench/server-load.ts', '../packages/models/src/index.ts', all)).toMatch(/reaches into @digitlab\/models by path/);
    expect(layerProblem('deploy/test/x.ts', '../../packages/tensor/src/ops/matmul.ref.ts', all)).toMatch(/reaches into @digitlab\/tensor/);
    expect(layerProblem('bench/src/cases.ts', '@digitlab/tensor/src/ops/matmul.ref.ts', all)).toMatch(/does not export/);
    expect(layerProblem('bench/src/cases.ts', '@digitlab/tensor/reference', all)).toBeNull();
    expect(layerProblem('bench/src/x.ts', '@digitlab/models/configs/tiny-cnn.json', [all[0], { ...all[1], exports: ['.', './configs/*'] }, all[2]])).toBeNull();
    expect(layerProblem('bench/src/x.ts', '@digitlab/models/src/index.ts', [all[0], { ...all[1], exports: ['.', './configs/*'] }, all[2]])).toMatch(/does not export/);
    expect(layerProblem('packages/tensor/src/x.ts', '@digitlab/models', all)).toMatch(/without depending/);
    expect(layerProblem('packages/tensor/src/x.ts', '@digitlab/models', [{ ...all[0], dependencies: ['@digitlab/models'] }, ...all.slice(1)])).toMatch(/sits below it/);
    expect(layerProblem('packages/models/src/a.ts', './b.js', all)).toBeNull();
    expect(layerProblem('packages/models/test/a.test.ts', '../src/b.js', all)).toBeNull();
    const server = { name: '@digitlab/server', dir: 'apps/server', exports: ['.'], dependencies: ['@digitlab/models', '@digitlab/tensor'] };
    expect(layerProblem('apps/server/src/app.ts', '@digitlab/tensor', [...all, server])).toMatch(/reaches it only through @digitlab\/models/);
    expect(layerProblem('apps/server/src/app.ts', '@digitlab/models', [...all, server])).toBeNull();
  });
});

describe("the repository's sources", () => {
  it('keep the layers', () => {
    const all = workspaces();
    expect(all.map((w) => w.name)).toEqual(expect.arrayContaining(['@digitlab/tensor', '@digitlab/models', '@digitlab/server', '@digitlab/bench']));
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mts', '*.js', '*.mjs'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.includes('node_modules/') && !f.includes('/dist/') && f !== 'e2e/layers.test.ts');
    expect(files.length).toBeGreaterThan(100);
    const problems: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue; // deleted in the work tree, still in the index
      }
      for (const { line, spec } of importsOf(text)) {
        const problem = layerProblem(file, spec, all);
        if (problem) problems.push(`${file}:${line}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
