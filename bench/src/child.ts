/**
 * The child side of isolate.ts: waits for one case, runs it with runEngineCase, sends the row
 * back and exits (gpu.js's worker pools would keep it alive).
 */
import type { KernelCase } from './cases.js';
import type { ChildMessage, IsolatedCase } from './isolate.js';
import type { ModelShapes } from './shapes.js';
import { runEngineCase } from './suite.js';

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
}

/** Serves one case from the cases `build` makes for the shapes it is sent. */
export function serve(build: (shapes: ModelShapes) => readonly KernelCase[]): void {
  if (!process.send) throw new Error('child.ts runs as a child process (isolate.ts forks it)');
  process.once('message', (job: IsolatedCase) => {
    void (async () => {
      try {
        const c = build(job.shapes).find((k) => k.id === job.id);
        if (!c) throw new Error(`no case "${job.id}"`);
        const result = await runEngineCase(c, job.impl, c.inputs(), job.expected, job, (ms) => void send({ type: 'compiled', ms }));
        await send({ type: 'result', result });
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        await send({ type: 'failed', name: err.name, message: err.message });
      }
      process.exit(0);
    })();
  });
  void send({ type: 'ready' });
}
