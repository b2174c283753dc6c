/**
 * The one entry of every worker thread that runs a TypeScript module (the plan workers here, the
 * server's model workers): start `new Worker(WORKER_BOOT, { workerData })` with workerData.entry
 * set to the module's file URL (WorkerBootData).
 */
export const WORKER_BOOT = new URL('./worker-boot.mjs', import.meta.url);

/** What a worker started at WORKER_BOOT finds in its workerData, beside its own setup. */
export interface WorkerBootData {
  /** File URL of the module the thread runs. */
  readonly entry: string;
}
