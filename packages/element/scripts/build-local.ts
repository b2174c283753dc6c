/**
 * Bundles the engine worker (src/local/worker.ts: @digitlab/models and @digitlab/tensor, gpu.js's
 * browser build) into dist/element-local.js, which the element loads only in `local` and `auto`
 * mode. @digitlab/models also holds its Node-only tools (training, the CLI, MNIST files) behind the
 * same entry; the few Node built-ins they import resolve here to stand-ins that refuse to run, and
 * the code the worker runs calls none of them.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The worker bundle, beside dist/element.js (the element resolves it from its own URL). */
export const localBundlePath = join(packageDir, 'dist', 'element-local.js');
/** Its file name, as the element and the server know it. */
export const LOCAL_BUNDLE = 'element-local.js';

/** The Node built-ins @digitlab/models imports, by the names it imports. */
const NODE_NAMES: Record<string, readonly string[]> = {
  'node:fs': ['appendFileSync', 'closeSync', 'existsSync', 'fsyncSync', 'mkdirSync', 'openSync', 'readFileSync', 'renameSync', 'unlinkSync', 'writeSync'],
  'node:path': ['basename', 'dirname', 'join', 'resolve'],
  'node:url': ['fileURLToPath'],
  'node:crypto': ['createHash', 'randomBytes'],
  'node:module': ['createRequire'],
  'node:os': ['availableParallelism', 'cpus'],
  'node:worker_threads': ['Worker'],
};
/** The path helpers a module calls as it loads (a constant path beside the module): harmless string work. */
const AT_LOAD = new Set(['basename', 'dirname', 'join', 'resolve', 'fileURLToPath']);

/** `node:*` imports as modules whose functions throw, except the path helpers called at load; a name not listed fails the build. */
const nodeStandIns: Plugin = {
  name: 'node-stand-ins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stand-in' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stand-in' }, (args) => ({
      loader: 'js',
      contents: (NODE_NAMES[args.path] ?? [])
        .map((name) =>
          AT_LOAD.has(name)
            ? `export const ${name} = (...parts) => parts.join('/');`
            : `export const ${name} = () => { throw new Error('${args.path} ${name} is not available in the browser'); };`,
        )
        .join('\n'),
    }));
  },
};

const options: BuildOptions = {
  entryPoints: [join(packageDir, 'src', 'local', 'worker.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2021', 'chrome113', 'firefox115', 'safari16'],
  minify: true,
  // the engine checks which gpu.js kernel class ran by its constructor's name
  keepNames: true,
  legalComments: 'none',
  tsconfig: join(packageDir, 'tsconfig.json'),
  logLevel: 'warning',
  plugins: [nodeStandIns],
};

/** Writes dist/element-local.js; returns its path and size. */
export async function buildLocal(): Promise<{ path: string; bytes: number }> {
  const result = await build({ ...options, outfile: localBundlePath, metafile: true });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { path: localBundlePath, bytes };
}

/** The same bundle as text, written nowhere (for fixture tests); `entry` replaces the worker (a test page's script over the same engine). */
export async function bundleLocalText(entry?: string): Promise<string> {
  const result = await build({ ...options, ...(entry ? { entryPoints: [entry] } : {}), write: false, outfile: LOCAL_BUNDLE });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild wrote no worker bundle');
  return file.text;
}
