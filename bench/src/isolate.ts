/**
 * Runs one engine case in a child process, under time limits. gpu.js compiles a kernel
 * synchronously on its first call: on headlessgl (WebGL 1 on Mesa's software renderer) one
 * compile can take minutes (gpu.js emulates `|` and `&` with 32-step loops in GLSL), and nothing
 * in the same process can stop it. A child can be killed: past `firstCallTimeoutMs` for the first
 * call, or `timeoutMs` for the warm-up and sampling after it, it is, and the case becomes a
 * `timeout` row. A child that dies (a crash in the native gl binding) gives an `error` row.
 *
 * The child rebuilds the case from its id and the shapes (`child.ts`), gets the reference's
 * outputs from here, and runs `runEngineCase`, the same code as the in-process suite.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KernelCase, RefOutputs } from './cases.js';
import type { MeasureOptions } from './measure.js';
import type { ModelShapes } from './shapes.js';
import { failureRow, ValidationError, type Impl, type KernelResult } from './suite.js';

/** Which engine modes run in child processes, and their limits. */
export interface IsolateOptions {
  readonly impls: readonly Impl[];
  /** The shapes the cases were built from (the child builds the same cases). */
  readonly shapes: ModelShapes;
  /** Milliseconds for the first call (inputs, compiling every kernel of the case, one run). */
  readonly firstCallTimeoutMs: number;
  /** Milliseconds for the rest (checks, warm-up, sampling). */
  readonly timeoutMs: number;
  /** Variables added to the child's environment (run.ts gives headlessgl's DISPLAY only to children). */
  readonly env?: Readonly<Record<string, string>>;
  /** The child's script (default child-main.ts; the tests give one with misbehaving cases). */
  readonly childScript?: string;
}

/** What the child is asked to run. */
export interface IsolatedCase {
  readonly shapes: ModelShapes;
  readonly id: string;
  readonly impl: Impl;
  readonly expected: RefOutputs;
  readonly measure: MeasureOptions;
  readonly slowCallMs: number;
  readonly poolSize?: number;
  readonly tolerant: boolean;
}

/** What the child says. */
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'compiled'; readonly ms: number }
  | { readonly type: 'result'; readonly result: KernelResult }
  | { readonly type: 'failed'; readonly name: string; readonly message: string };

const DEFAULT_CHILD = fileURLToPath(new URL('./child-main.ts', import.meta.url));
// the child is TypeScript like everything here: Node runs it with tsx's loader
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

type CaseHead = Pick<KernelCase, 'id' | 'model' | 'op' | 'pass' | 'shape' | 'flops'>;

/** Runs job in a fresh child process; failures of a tolerant job come back as rows, others reject. */
export function runIsolated(job: IsolatedCase, iso: IsolateOptions, c: CaseHead): Promise<KernelResult> {
  return new Promise((resolve, reject) => {
    const child = fork(iso.childScript ?? DEFAULT_CHILD, [], {
      execArgv: ['--import', TSX],
      env: { ...process.env, ...iso.env },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let compiledMs: number | null = null;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      fn();
    };
    const fail = (status: 'error' | 'timeout', note: string): void =>
      finish(() => (job.tolerant ? resolve(failureRow(c, job.impl, status, note, { firstCallMs: compiledMs })) : reject(new Error(`${c.id} on ${job.impl}: ${note}`))));
    const limit = (ms: number, what: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => fail('timeout', `${what} took over ${(ms / 1000).toFixed(0)} s; the child process was killed`), ms);
    };
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        child.send(job);
        limit(iso.firstCallTimeoutMs, 'first call (compiling the kernels)');
      } else if (m.type === 'compiled') {
        compiledMs = m.ms;
        limit(iso.timeoutMs, 'checking and timing after the first call');
      } else if (m.type === 'result') {
        finish(() => resolve(m.result));
      } else {
        // what the child threw: a main mode's failure stops the run, a mode under test's is its row
        if (job.tolerant) fail('error', m.message);
        else finish(() => reject(m.name === 'ValidationError' ? new ValidationError(m.message) : new Error(m.message)));
      }
    });
    child.on('error', (e) => fail('error', `child process: ${e.message}`));
    child.on('exit', (code, signal) => fail('error', `the child process died (${signal ?? `exit code ${code}`}) before it answered`));
  });
}
