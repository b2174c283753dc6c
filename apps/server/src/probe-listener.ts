// The HTTP thread's side of the probe listener (HEALTH_PORT): starts its thread, beats the heartbeat
// the thread's liveness reads, and tells it when the server listens and when it drains.
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { WORKER_BOOT } from '@digitlab/models';
import { ConfigError } from './config.js';
import { PROBE_BEAT_MS, PROBE_SLOTS, type ProbeSetup, type ProbeStarted } from './probe-state.js';

const ENTRY = new URL('./probe-thread.ts', import.meta.url).href;
/** Longest close() waits for the thread to stop. */
const TERMINATE_TIMEOUT_MS = 5_000;

/** A running probe listener: its port, and the state it answers from. */
export class ProbeListener {
  private constructor(
    private readonly worker: Worker,
    private readonly state: Int32Array,
    private readonly beat: NodeJS.Timeout,
    /** The port it listens on (the one asked for, or the free one picked for 0). */
    readonly port: number,
  ) {}

  /** Starts the thread and resolves once it listens; rejects with a ConfigError naming HEALTH_PORT when it cannot (say, the port is taken). */
  static start(options: { port: number; host: string; stallMs: number; onError(error: Error): void }): Promise<ProbeListener> {
    const buffer = new SharedArrayBuffer(Object.keys(PROBE_SLOTS).length * Int32Array.BYTES_PER_ELEMENT);
    const state = new Int32Array(buffer);
    const setup: ProbeSetup = { entry: ENTRY, port: options.port, host: options.host, state: buffer, stallMs: options.stallMs };
    const worker = new Worker(WORKER_BOOT, { workerData: setup, name: 'probe-listener' });
    // the heartbeat is a timer on this thread's loop: it moves only while the loop turns
    const beat = setInterval(() => Atomics.add(state, PROBE_SLOTS.beat, 1), PROBE_BEAT_MS);
    beat.unref();
    return new Promise((resolve, reject) => {
      const fail = (message: string): void => {
        clearInterval(beat);
        worker.unref();
        void worker.terminate();
        reject(new ConfigError(`the probe listener (HEALTH_PORT=${options.port}, host ${options.host}) could not start: ${message}`));
      };
      worker.once('error', (error) => fail(error.message));
      worker.once('exit', (code) => fail(`its thread exited (code ${code})`));
      worker.once('message', (message: ProbeStarted) => {
        worker.removeAllListeners('exit');
        worker.removeAllListeners('error');
        if (message.type === 'failed') {
          fail(message.message);
          return;
        }
        // a thread that fails later has closed its port: the orchestrator's probes see that; it is logged here
        worker.on('error', options.onError);
        resolve(new ProbeListener(worker, state, beat, message.port));
      });
    });
  }

  /** Readiness may answer ready: the main port listens. */
  listening(): void {
    Atomics.store(this.state, PROBE_SLOTS.listening, 1);
  }

  /** Readiness answers 503 draining from now on; liveness stays as it is. */
  draining(): void {
    Atomics.store(this.state, PROBE_SLOTS.draining, 1);
  }

  /** Stops the heartbeat and the thread (its port closes with it). */
  async close(): Promise<void> {
    clearInterval(this.beat);
    this.worker.unref();
    await Promise.race([this.worker.terminate(), delay(TERMINATE_TIMEOUT_MS, undefined, { ref: false })]);
  }
}
