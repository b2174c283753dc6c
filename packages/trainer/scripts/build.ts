/**
 * Bundles <digit-trainer> into two ES modules the server serves side by side: dist/trainer.js
 * (the element and Lit) and dist/trainer-worker.js (the training worker: the engine, gpu.js's
 * browser build, the models). Run: pnpm --filter @digitlab/trainer build
 *
 * @digitlab/models also holds the Node CLI's file handling; the worker never calls it, so Node's
 * built-in modules resolve to a stand-in whose path helpers return strings (module-level
 * constants call them) and whose every other function throws, naming itself.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const distDir = join(packageDir, 'dist');

const NODE_STANDIN = `
const unavailable = (name) => () => { throw new Error(name + ' is not available in a browser'); };
const path = (...parts) => parts.filter((p) => typeof p === 'string').join('/');
module.exports = new Proxy({
  join: path, resolve: path, dirname: (p) => String(p ?? ''), basename: (p) => String(p ?? ''),
  fileURLToPath: (u) => String(u ?? ''), pathToFileURL: (p) => new URL('file://' + p), sep: '/',
}, { get: (t, k) => (k in t ? t[k] : k === '__esModule' ? false : unavailable(String(k))) });
`;

/** Node's built-ins ("node:fs", "fs", ...) as the stand-in above. */
const nodeStandIn: Plugin = {
  name: 'node-builtins-stand-in',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-stand-in' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stand-in' }, () => ({ contents: NODE_STANDIN, loader: 'js' }));
  },
};

const common: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome113', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'none',
  tsconfig: join(packageDir, 'tsconfig.json'),
  logLevel: 'warning',
  sourcemap: 'linked',
};

/** The two bundles, written to dist/; returns their paths and sizes. */
export async function buildTrainer(): Promise<Array<{ path: string; bytes: number }>> {
  const element = join(distDir, 'trainer.js');
  const worker = join(distDir, 'trainer-worker.js');
  await Promise.all([
    build({ ...common, entryPoints: [join(packageDir, 'src', 'index.ts')], outfile: element }),
    // keepNames: the engine names the gpu.js kernel class that ran (constructor.name) to detect a fallback
    build({ ...common, entryPoints: [join(packageDir, 'src', 'worker.ts')], outfile: worker, plugins: [nodeStandIn], keepNames: true }),
  ]);
  return [element, worker].map((path) => ({ path, bytes: statSync(path).size }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const { path, bytes } of await buildTrainer()) console.log(`${relative(process.cwd(), path)}: ${(bytes / 1024).toFixed(1)} KiB`);
}
