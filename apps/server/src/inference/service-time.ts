// How long a model takes per image, as the queue sees it: the median of the time per image of its
// recent batches. A median, not a mean, so one batch stalled by the machine (a GC pause, a
// descheduled thread) does not make the queue refuse everything for a while; it follows a real
// change in speed within half a window of batches.

/** Batches the median is taken over. */
const WINDOW = 15;

/** A model's measured milliseconds per image, learnt from the batches it finished. */
export class ServiceTime {
  private readonly recent: number[] = [];
  private median: number | undefined;

  /** Milliseconds per image, or undefined before the first batch finished. */
  get perImageMs(): number | undefined {
    return this.median;
  }

  /** Records one batch: `images` images kept the model busy for `ms` milliseconds. */
  record(images: number, ms: number): void {
    if (!(images > 0) || !(ms >= 0)) return;
    this.recent.push(ms / images);
    if (this.recent.length > WINDOW) this.recent.shift();
    const sorted = [...this.recent].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    this.median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
}
