/** Checkpoints in IndexedDB (page and worker alike), one record per run key. */
import type { Preset } from '@digitlab/models';
import type { Checkpoint, CheckpointStore } from './run.ts';

const DB = 'digitlab-trainer';
const STORE = 'checkpoints';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB: ${req.error?.message ?? 'cannot open'}`));
  });
}

async function tx<T>(mode: IDBTransactionMode, work: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = work(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(new Error(`IndexedDB: ${t.error?.message ?? 'transaction failed'}`));
      t.onabort = () => reject(new Error(`IndexedDB: ${t.error?.message ?? 'transaction aborted'}`));
    });
  } finally {
    db.close();
  }
}

/** The summary of a kept run the page shows before resuming it. */
export interface KeptRun {
  readonly key: string;
  readonly epoch: number;
  readonly epochs: number;
  readonly preset: Preset;
  readonly trainImages: number | null;
}

/** The IndexedDB checkpoint store. */
export const idbStore: CheckpointStore & { latest(): Promise<KeptRun | null> } = {
  async load(key) {
    return ((await tx('readonly', (s) => s.get(key))) as Checkpoint | undefined) ?? null;
  },
  async save(c) {
    await tx('readwrite', (s) => s.put(c));
  },
  async remove(key) {
    await tx('readwrite', (s) => s.delete(key));
  },
  /** The most advanced kept run, if any. */
  async latest() {
    const all = (await tx('readonly', (s) => s.getAll())) as Checkpoint[];
    const c = all.sort((a, b) => b.epoch - a.epoch)[0];
    return c ? { key: c.key, epoch: c.epoch, epochs: c.preset.train.epochs, preset: c.preset, trainImages: c.trainImages } : null;
  },
};
