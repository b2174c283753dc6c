// Entry of a model worker thread: registers tsx's TypeScript loader in this thread, then runs the
// worker itself. A worker does not inherit the loader that vitest (or a parent without tsx) uses,
// so the same boot works under `tsx src/main.ts`, under vitest and under plain node.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
