import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { unsafeSVG } from 'lit/directives/unsafe-svg.js';
import type { EpochLog, EvaluationSummary, ModelCard } from '@digitlab/models';
import { confusionSvg, lineChartSvg, type Series } from '@digitlab/report/svg';
import { DrawingPad } from '@digitlab/element/drawing-pad';
import { mnistPreprocess } from '@digitlab/element/mnist-preprocess';
import { type BackendPreference, type BackendTrial, BROWSER_MODES, isBackendPreference } from './modes.ts';
import { idbStore, type KeptRun } from './idb-store.ts';
import { DEFAULT_PRESET, PRESETS, editPreset } from './presets.ts';
import type { BatchProgress, CurvePoint, FromWorker, RunResult, ToWorker } from './protocol.ts';
import styles from './digit-trainer.styles.ts';

/** Detail of the `epoch` event. */
export interface TrainerEpochDetail {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly valAccuracy: number;
  readonly valLoss: number;
  readonly imagesPerSecond: number;
}

/** Detail of the `done` event. */
export interface TrainerDoneDetail {
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly card: ModelCard;
  readonly seconds: number;
}

/** Detail of the `error` event. */
export interface TrainerErrorDetail {
  readonly message: string;
}

type Phase = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'done' | 'error';

/** Points drawn per curve: the per-batch values averaged in buckets, which also smooths them. */
const DRAWN_POINTS = 240;

function bucketed(points: readonly CurvePoint[], pick: (p: CurvePoint) => number): Array<[number, number]> {
  const size = Math.max(1, Math.ceil(points.length / DRAWN_POINTS));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < points.length; i += size) {
    const part = points.slice(i, i + size);
    out.push([part[part.length - 1].x, part.reduce((s, p) => s + pick(p), 0) / part.length]);
  }
  return out;
}

const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)}%`;

function duration(s: number): string {
  if (!Number.isFinite(s)) return '–';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

function digitUrl(image: Float32Array): string {
  const c = document.createElement('canvas');
  c.width = 28;
  c.height = 28;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(1, Math.max(0, image[i])) * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c.toDataURL();
}

/**
 * `<digit-trainer>`: trains a digitlab model on MNIST in a Web Worker, with live curves.
 *
 * @attr preset - starting preset: cnn-small (default), tiny-cnn, tiny-vit, cnn, vit
 * @attr epochs, batch-size, lr, width, dropout - the form's starting values (default: the preset's)
 * @attr backend - auto (the fastest of webgpu, webgl2 and webasm that passes its probe against the float64 reference), webgpu, webgl2 or webasm
 * @attr autostart - start training at once (resuming a run kept in IndexedDB)
 * @attr train-images - train on only the first n training images (short runs)
 * @attr data-url - base URL of the MNIST IDX files (default /data/mnist/)
 * @attr worker-src - URL of trainer-worker.js (default: beside trainer.js)
 * @fires epoch - after each epoch's validation (TrainerEpochDetail)
 * @fires done - the trained model tested on the 10,000 test images (TrainerDoneDetail)
 * @fires error - training could not start or failed (TrainerErrorDetail)
 * @csspart form, status, charts, result, confusion, misclassified, downloads, try
 */
export class DigitTrainer extends LitElement {
  static override styles = styles;
  static override properties = {
    preset: { type: String },
    epochs: { type: Number },
    batchSize: { type: Number, attribute: 'batch-size' },
    lr: { type: Number },
    width: { type: Number },
    dropout: { type: Number },
    backend: { type: String },
    autostart: { type: Boolean },
    trainImages: { type: Number, attribute: 'train-images' },
    dataUrl: { type: String, attribute: 'data-url' },
    workerSrc: { type: String, attribute: 'worker-src' },
    phase: { state: true },
    statusText: { state: true },
    progress: { state: true },
    history: { state: true },
    curve: { state: true },
    mode: { state: true },
    trials: { state: true },
    result: { state: true },
    errorText: { state: true },
    kept: { state: true },
    guess: { state: true },
  };

  declare preset: string;
  declare epochs: number | undefined;
  declare batchSize: number | undefined;
  declare lr: number | undefined;
  declare width: number;
  declare dropout: number | undefined;
  declare backend: string;
  declare autostart: boolean;
  declare trainImages: number | undefined;
  declare dataUrl: string;
  declare workerSrc: string | undefined;

  declare private phase: Phase;
  declare private statusText: string;
  declare private progress: BatchProgress | null;
  declare private history: EpochLog[];
  declare private curve: CurvePoint[];
  declare private mode: string | null;
  declare private trials: readonly BackendTrial[];
  declare private result: RunResult | null;
  declare private errorText: string | null;
  declare private kept: KeptRun | null;
  declare private guess: Float32Array | null;

  private worker: Worker | null = null;
  private downloads: { weights: string; card: string } | null = null;
  private pad: DrawingPad | null = null;
  private predictId = 0;
  private galleryUrls: string[] = [];

  constructor() {
    super();
    this.preset = DEFAULT_PRESET;
    this.width = 1;
    this.backend = 'auto';
    this.autostart = false;
    this.dataUrl = '/data/mnist/';
    this.phase = 'idle';
    this.statusText = '';
    this.kept = null;
    this.clearRun();
  }

  /** Forgets what a run showed: its curves, backend, result and the try-it drawing. */
  private clearRun(): void {
    this.progress = null;
    this.history = [];
    this.curve = [];
    this.mode = null;
    this.trials = [];
    this.result = null;
    this.errorText = null;
    this.guess = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    idbStore.latest().then(
      (k) => (this.kept = k),
      () => (this.kept = null),
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.worker?.terminate();
    this.worker = null;
    this.pad?.dispose();
    this.pad = null;
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('autostart') && this.autostart && this.phase === 'idle') void this.start();
    if (changed.has('result') && this.result) {
      const canvas = this.renderRoot.querySelector<HTMLCanvasElement>('.pad canvas');
      if (canvas && !this.pad) this.pad = new DrawingPad(canvas, { onStrokeEnd: () => this.predict(), onChange: () => {} });
    }
  }

  /** The preset the form describes now. */
  formPreset() {
    const base = PRESETS[this.preset] ?? PRESETS[DEFAULT_PRESET];
    const form = this.renderRoot.querySelector('form');
    const value = (name: string, fallback: number): number => {
      const input = form?.elements.namedItem(name) as HTMLInputElement | null;
      const v = input ? Number(input.value) : NaN;
      return Number.isFinite(v) && input?.value !== '' ? v : fallback;
    };
    return editPreset(base, {
      epochs: value('epochs', this.epochs ?? base.train.epochs),
      batchSize: value('batch-size', this.batchSize ?? base.train.batchSize),
      lr: value('lr', this.lr ?? base.train.lr),
      width: value('width', this.width),
      dropout: value('dropout', this.dropout ?? base.model.dropout),
    });
  }

  /**
   * Starts training with the form's values, resuming the run kept for them if there is one;
   * `adoptKept` resumes the run the page offers instead, as it was set up.
   */
  async start(resume = true, adoptKept = false): Promise<void> {
    if (this.phase === 'starting' || this.phase === 'running' || this.phase === 'paused') return;
    await this.updateComplete;
    const form = this.renderRoot.querySelector('form');
    if (form) {
      this.preset = (form.elements.namedItem('preset') as HTMLSelectElement).value;
      this.backend = (form.elements.namedItem('backend') as HTMLSelectElement).value;
    }
    // Resume continues the kept run as it was set up; the form's values start a new one
    const kept = resume && adoptKept ? this.kept : null;
    const preset = kept?.preset ?? this.formPreset();
    const trainImages = kept ? (kept.trainImages ?? undefined) : this.trainImages;
    const backend: BackendPreference = isBackendPreference(this.backend) ? this.backend : 'auto';
    this.reset();
    this.phase = 'starting';
    this.statusText = 'starting';
    const src = this.workerSrc ?? new URL('./trainer-worker.js', import.meta.url).href;
    const worker = new Worker(src, { type: 'module' });
    this.worker = worker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onWorker(e.data);
    worker.onerror = (e) => this.fail(`the training worker failed: ${e.message || `could not load ${src}`}`);
    const dataUrl = new URL(this.dataUrl, document.baseURI).href;
    this.send({ type: 'start', run: { preset, backend, dataUrl, resume, ...(trainImages ? { trainImages } : {}) } });
  }

  /** Holds training after the current batch. */
  pause(): void {
    if (this.phase === 'running') this.send({ type: 'pause' });
  }

  /** Continues paused training. */
  resume(): void {
    if (this.phase === 'paused') this.send({ type: 'resume' });
  }

  /** Ends training now; the model trained so far is tested and offered. */
  stop(): void {
    if (this.phase === 'running' || this.phase === 'paused') {
      this.send({ type: 'stop' });
      this.phase = 'stopping';
      this.statusText = 'stopping after this batch';
    }
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  private reset(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const u of Object.values(this.downloads ?? {})) URL.revokeObjectURL(u);
    this.downloads = null;
    this.pad?.dispose();
    this.pad = null;
    this.clearRun();
    this.galleryUrls = [];
  }

  private fail(message: string): void {
    this.phase = 'error';
    this.errorText = message;
    this.worker?.terminate();
    this.worker = null;
    this.dispatchEvent(new CustomEvent<TrainerErrorDetail>('error', { detail: { message }, bubbles: true, composed: true }));
  }

  private onWorker(m: FromWorker): void {
    switch (m.type) {
      case 'backend':
        this.mode = m.mode;
        this.trials = m.trials;
        return;
      case 'status':
        this.statusText = m.text;
        return;
      case 'resumed':
        this.history = [...m.history];
        this.curve = [...m.curve];
        this.kept = null;
        return;
      case 'batch':
        if (this.phase === 'starting') this.phase = 'running';
        this.statusText = 'training';
        this.progress = m.progress;
        this.curve = [...this.curve, m.progress.point];
        return;
      case 'epoch': {
        this.history = [...this.history, m.log];
        const l = m.log;
        this.dispatchEvent(
          new CustomEvent<TrainerEpochDetail>('epoch', {
            detail: { epoch: l.epoch, trainLoss: l.trainLoss, trainAccuracy: l.trainAccuracy, valAccuracy: l.valAccuracy, valLoss: l.valLoss, imagesPerSecond: l.imagesPerSecond },
            bubbles: true,
            composed: true,
          }),
        );
        return;
      }
      case 'paused':
        this.phase = 'paused';
        return;
      case 'running':
        this.phase = 'running';
        return;
      case 'done': {
        const r = m.result;
        this.downloads = {
          weights: URL.createObjectURL(new Blob([r.weights as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })),
          card: URL.createObjectURL(new Blob([`${JSON.stringify(r.card, null, 2)}\n`], { type: 'application/json' })),
        };
        this.galleryUrls = r.misclassified.map((d) => digitUrl(d.image));
        this.result = r;
        this.phase = 'done';
        this.kept = null;
        this.statusText = r.stoppedEarly ? 'stopped early; tested' : 'done';
        this.dispatchEvent(
          new CustomEvent<TrainerDoneDetail>('done', { detail: { testAccuracy: r.test.accuracy, testLoss: r.test.loss, card: r.card, seconds: r.seconds }, bubbles: true, composed: true }),
        );
        return;
      }
      case 'prediction':
        if (m.id === this.predictId) this.guess = m.probabilities;
        return;
      case 'error':
        this.fail(m.message);
        return;
    }
  }

  private predict(): void {
    if (!this.pad?.hasInk) return;
    const image = mnistPreprocess(this.pad.ink());
    if (!image) return;
    this.send({ type: 'predict', id: ++this.predictId, image });
  }

  private clearPad(): void {
    this.pad?.clear();
    this.guess = null;
  }

  protected override render() {
    const busy = this.phase === 'starting' || this.phase === 'running' || this.phase === 'paused' || this.phase === 'stopping';
    return html`<div class="base" part="base">
      <h2>Train a digit classifier in this page</h2>
      ${this.renderForm(busy)} ${this.renderStatus()}
      ${this.errorText ? html`<div class="error" role="alert" part="error">${this.errorText}</div>` : nothing}
      ${this.curve.length || this.history.length ? this.renderCharts() : nothing} ${this.result ? this.renderResult(this.result) : nothing}
    </div>`;
  }

  private renderForm(busy: boolean) {
    const base = PRESETS[this.preset] ?? PRESETS[DEFAULT_PRESET];
    const keptHere = this.kept && !busy && this.phase !== 'done';
    return html`<form part="form" @submit=${(e: Event) => (e.preventDefault(), this.start())}>
        <label>preset
          <select name="preset" .value=${this.preset} ?disabled=${busy} @change=${(e: Event) => (this.preset = (e.target as HTMLSelectElement).value)}>
            ${Object.keys(PRESETS).map((p) => html`<option value=${p} ?selected=${p === this.preset}>${p}</option>`)}
          </select></label>
        <label>epochs <input name="epochs" type="number" min="1" step="1" .value=${String(this.epochs ?? base.train.epochs)} ?disabled=${busy} /></label>
        <label>batch size <input name="batch-size" type="number" min="1" step="1" .value=${String(this.batchSize ?? base.train.batchSize)} ?disabled=${busy} /></label>
        <label>learning rate <input name="lr" type="number" min="0" step="any" .value=${String(this.lr ?? base.train.lr)} ?disabled=${busy} /></label>
        <label>width × <input name="width" type="number" min="0.25" step="0.25" .value=${String(this.width)} ?disabled=${busy} /></label>
        <label>dropout <input name="dropout" type="number" min="0" max="0.9" step="0.05" .value=${String(this.dropout ?? base.model.dropout)} ?disabled=${busy} /></label>
        <label>backend
          <select name="backend" ?disabled=${busy}>
            ${['auto', ...BROWSER_MODES].map((b) => html`<option value=${b} ?selected=${b === this.backend}>${b === 'auto' ? 'auto (the fastest that checks out)' : b}</option>`)}
          </select></label>
      </form>
      <div class="buttons">
        <button class="primary" part="start-button" ?disabled=${busy} @click=${() => this.start(true, !!keptHere)}>${keptHere ? `Resume (epoch ${this.kept!.epoch} of ${this.kept!.epochs} kept)` : 'Train'}</button>
        ${keptHere ? html`<button part="restart-button" @click=${() => this.start(false)}>Start over</button>` : nothing}
        <button part="pause-button" ?disabled=${this.phase !== 'running'} @click=${() => this.pause()}>Pause</button>
        <button part="resume-button" ?disabled=${this.phase !== 'paused'} @click=${() => this.resume()}>Resume</button>
        <button part="stop-button" ?disabled=${!(this.phase === 'running' || this.phase === 'paused')} @click=${() => this.stop()}>Stop</button>
      </div>`;
  }

  private renderStatus() {
    if (this.phase === 'idle') return nothing;
    const p = this.progress;
    const trials = this.trials.map((t) => `${t.mode}: ${t.ok ? 'used' : 'skipped'} (${t.detail})`).join('\n');
    return html`<div part="status">
      <div class="status" aria-live="polite">
        <span>backend <strong title=${trials} data-backend=${this.mode ?? ''}>${this.mode ?? 'choosing'}</strong></span>
        <span><strong>${this.phase === 'paused' ? 'paused' : this.statusText}</strong></span>
        ${p
          ? html`<span>epoch <strong>${p.epoch}/${p.epochs}</strong> · batch <strong>${p.step}/${p.steps}</strong></span>
              <span><strong>${Math.round(p.imagesPerSecond)}</strong> images/s</span>
              <span>ETA <strong>${this.phase === 'done' ? '–' : duration(p.etaSeconds)}</strong></span>`
          : nothing}
      </div>
      ${p ? html`<progress max=${p.epochs * p.steps} .value=${(p.epoch - 1) * p.steps + p.step}></progress>` : nothing}
    </div>`;
  }

  private renderCharts() {
    const val = this.history.map((h) => [h.epoch, h.valAccuracy] as [number, number]);
    const valLoss = this.history.map((h) => [h.epoch, h.valLoss] as [number, number]);
    const loss: Series[] = [{ label: 'batches', color: '#dc2626', points: bucketed(this.curve, (c) => c.loss) }];
    if (valLoss.length) loss.push({ label: 'validation', color: '#0d9488', dashed: true, points: valLoss });
    const acc: Series[] = [{ label: 'batches', color: '#4f46e5', points: bucketed(this.curve, (c) => c.accuracy) }];
    if (val.length) acc.push({ label: 'validation', color: '#0d9488', dashed: true, points: val });
    return html`<div part="charts">
      <div class="charts">
        <div data-chart="loss">${unsafeSVG(lineChartSvg({ title: 'Loss', series: loss, logScale: true }))}</div>
        <div data-chart="accuracy">${unsafeSVG(lineChartSvg({ title: 'Accuracy', series: acc, percent: true }))}</div>
      </div>
      ${this.history.length
        ? html`<table class="epochs" part="epochs">
            <thead><tr><th>epoch</th><th>train loss</th><th>train acc.</th><th>val. loss</th><th>val. acc.</th><th>images/s</th></tr></thead>
            <tbody>${this.history.map((h) => html`<tr><td>${h.epoch}${h.best ? ' ★' : ''}</td><td>${h.trainLoss.toFixed(4)}</td><td>${pct(h.trainAccuracy)}</td><td>${h.valLoss.toFixed(4)}</td><td>${pct(h.valAccuracy)}</td><td>${Math.round(h.imagesPerSecond)}</td></tr>`)}</tbody>
          </table>`
        : nothing}
    </div>`;
  }

  private renderResult(r: RunResult) {
    const t: EvaluationSummary = r.test;
    const name = r.card.name;
    const guess = this.guess;
    const top = guess ? guess.indexOf(Math.max(...guess)) : -1;
    return html`<div class="result" part="result">
      <div>
        <h3>Test set</h3>
        <div class="headline" data-test-accuracy=${String(t.accuracy)}>${pct(t.accuracy)}</div>
        <div class="muted">of ${t.count.toLocaleString('en')} test images · loss ${t.loss.toFixed(4)} · ${t.misclassified.length} misclassified · epoch ${r.card.training.bestEpoch} kept (best validation) · trained ${duration(r.seconds)} on ${r.card.training.backend}</div>
        <div class="buttons" part="downloads" style="margin-top:10px">
          <a class="button primary" href=${this.downloads?.weights ?? ''} download=${`${name}.safetensors`} data-download="weights">${name}.safetensors</a>
          <a class="button" href=${this.downloads?.card ?? ''} download=${`${name}.json`} data-download="card">${name}.json (model card)</a>
        </div>
        <p class="muted">Both files in one folder: <code>pnpm evaluate ${name} --weights &lt;folder&gt;</code>, or the server's <code>WEIGHTS_DIR</code>.</p>
        <h3>Try it</h3>
        <div class="try" part="try">
          <div class="pad"><canvas aria-label="draw a digit for the trained model"></canvas></div>
          <div>
            <div class="guess" data-guess=${top}>${top >= 0 ? top : '?'}</div>
            <div class="bars">${guess ? Array.from(guess, (p, d) => html`<div class="bar ${d === top ? 'top' : ''}"><span>${d}</span><span class="fill" style="width:${Math.max(1, p * 100)}%"></span><span>${pct(p, 1)}</span></div>`) : html`<span class="muted">draw a digit</span>`}</div>
            <button style="margin-top:8px" @click=${() => this.clearPad()}>Clear</button>
          </div>
        </div>
      </div>
      <div>
        <div part="confusion">${unsafeSVG(confusionSvg(t.confusion, name))}</div>
        <h3>Misclassified (${t.misclassified.length})</h3>
        <div class="gallery" part="misclassified">
          ${r.misclassified.map((d, i) => html`<figure><img src=${this.galleryUrls[i]} alt=${`test image ${d.index}: a ${d.label} read as ${d.predicted}`} /><figcaption>${d.label}→${d.predicted}</figcaption></figure>`)}
        </div>
      </div>
    </div>`;
  }
}
