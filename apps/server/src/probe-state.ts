// What the HTTP thread and the probe listener's thread share: one Int32Array over a
// SharedArrayBuffer, written by the HTTP thread, read by the probe thread (Atomics both ways).

/** Slots of the shared state. */
export const PROBE_SLOTS = {
  /** Counts up each time the HTTP thread's event loop runs its heartbeat timer. */
  beat: 0,
  /** 1 once the main port listens (readiness waits for it). */
  listening: 1,
  /** 1 once the server drains (readiness answers 503 draining). */
  draining: 2,
} as const;

/** How often the HTTP thread counts its heartbeat. */
export const PROBE_BEAT_MS = 100;

/** What the probe thread gets in its workerData (beside WORKER_BOOT's entry). */
export interface ProbeSetup {
  readonly entry: string;
  readonly port: number;
  readonly host: string;
  /** The shared state (PROBE_SLOTS). */
  readonly state: SharedArrayBuffer;
  /** Liveness fails once the heartbeat has not moved for this long. */
  readonly stallMs: number;
}

/** The probe thread's first message: where it listens, or why it could not. */
export type ProbeStarted = { readonly type: 'listening'; readonly port: number } | { readonly type: 'failed'; readonly message: string };
