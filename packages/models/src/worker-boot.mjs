// Entry of a worker thread that runs a TypeScript module (WORKER_BOOT in worker-boot.ts): registers
// tsx's loader in this thread, then imports workerData.entry. A worker does not inherit the loader
// that vitest (or a parent without tsx) uses, so the same boot works under tsx, vitest and plain node.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
