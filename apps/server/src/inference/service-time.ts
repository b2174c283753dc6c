// How long a model takes per image, as the queue sees it: an exponentially weighted average over
// recent batches, weighted by their images so that many one-image batches do not drown a big one.

/** Weight of the newest batch in the average. */
const ALPHA = 0.2;

/** A model's measured milliseconds per image, learnt from the batches it finished. */
export class ServiceTime {
  private ms = 0;
  private images = 0;

  /** Milliseconds per image, or undefined before the first batch finished. */
  get perImageMs(): number | undefined {
    return this.images === 0 ? undefined : this.ms / this.images;
  }

  /** Records one batch: `images` images kept the model busy for `ms` milliseconds. */
  record(images: number, ms: number): void {
    if (!(images > 0) || !(ms >= 0)) return;
    this.ms = this.images === 0 ? ms : (1 - ALPHA) * this.ms + ALPHA * ms;
    this.images = this.images === 0 ? images : (1 - ALPHA) * this.images + ALPHA * images;
  }
}
