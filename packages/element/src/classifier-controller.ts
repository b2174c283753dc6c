/**
 * The state of a `<digit-classifier>` and the requests that change it: what is shown (a drawing
 * or a file's images), the answers so far, the selection and the grid's page, the problem in
 * place. The element renders this state; everything that resets or asks the server is here.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { filteredIndices, type GridFilter } from './batch-stats.ts';
import { plural, thousands } from './format.ts';
import { CsvProblem, splitAccepted } from './csv-input.ts';
import { describeAnswers } from './announce.ts';
import {
  PredictError,
  requestInBatches,
  requestPrediction,
  type ImagePrediction,
  type PredictBody,
  type PredictResponse,
} from './predict-client.ts';
import { describeProvenance, type LocatedResponse } from './local/local-client.ts';
import { LOCAL_FAILED, Predictor, type PredictorHost } from './local/predictor.ts';

/** Where the images shown came from. */
export type Source =
  | { kind: 'none' }
  | { kind: 'drawing' }
  | { kind: 'csv'; name: string; layout: string; scale: string };

/** A problem shown in place: what went wrong, and (optionally) what would work. */
export interface Problem {
  /** One short sentence, shown in bold. */
  title: string;
  /** The details (where in the file, which value). */
  message?: string | undefined;
  /** What would be accepted instead. */
  hint?: string | undefined;
  /** Sends the same request again (offered when the failure may pass: network, 5xx). */
  retry?: (() => void) | undefined;
}

/** Detail of the `error` event. */
export interface DigitClassifierErrorDetail {
  message: string;
  /** digit-csv's code for a refused file, the server's `error` field, or `NETWORK`. */
  code?: string | undefined;
  /** HTTP status, when the server answered. */
  status?: number | undefined;
}

/** Images to show and ask about: count x 784 intensities in [0, 1], a label (or null) each. */
export interface Images {
  images: Float32Array;
  count: number;
  labels: (number | null)[];
}

/** A parsed file, with its text when it may be sent as it is. */
export interface FileImages extends Images {
  name: string;
  layout: string;
  scale: string;
  text?: string;
}

/** What the element needs of its host. */
export interface ClassifierHost extends ReactiveControllerHost, EventTarget, PredictorHost {
  /** The server's `/predict`. */
  readonly endpoint: string;
  /** Most images per request (a whole number >= 1): larger files go in several. */
  readonly imagesPerRequest: number;
  /** Images per page of the grid (a whole number >= 1). */
  readonly imagesPerPage: number;
}

/** Everything the element shows. */
export interface ClassifierState {
  source: Source;
  /** The images shown, or null. */
  images: Float32Array | null;
  count: number;
  labels: (number | null)[];
  /** The answers so far, in input order (a file sent in batches fills them batch by batch). */
  predictions: ImagePrediction[];
  /** The server's time for the answers shown, summed over batches. */
  totalMs: number | null;
  selected: number;
  filter: GridFilter;
  page: number;
  busy: boolean;
  /** What a file sent in batches has got so far ("Classified 3,000 of 10,000 images…"), or ''. */
  progress: string;
  problem: Problem | null;
  /** The sentence for screen readers (a polite live region). */
  announcement: string;
  /** Where the answers shown ran, in words ("ran in this browser on WebGPU, checked"), or ''. */
  provenance: string;
}

const EMPTY: Omit<ClassifierState, 'problem' | 'announcement'> = {
  source: { kind: 'none' },
  images: null,
  count: 0,
  labels: [],
  predictions: [],
  totalMs: null,
  selected: 0,
  filter: 'all',
  page: 0,
  busy: false,
  progress: '',
  provenance: '',
};

/** Holds the element's state and makes its requests; one instance per element. */
export class ClassifierController implements ReactiveController {
  private current: ClassifierState = { ...EMPTY, problem: null, announcement: '' };
  private inFlight: AbortController | null = null;
  private requestId = 0;
  private readonly predictor: Predictor;

  constructor(private readonly host: ClassifierHost) {
    host.addController(this);
    this.predictor = new Predictor(host);
  }

  /** Whether the answer being asked for waits for the models to load into this browser (local mode). */
  get loadingLocally(): boolean {
    return this.predictor.loadingLocally;
  }

  /** Starts loading the models into the browser ahead of the first request (local and auto modes; the mode may have changed). */
  prepareLocal(): void {
    this.predictor.prepare();
  }

  /** The state to render (do not change it; use the methods). */
  get state(): Readonly<ClassifierState> {
    return this.current;
  }

  hostDisconnected(): void {
    this.cancel();
    this.predictor.close();
    this.update({ busy: false });
  }

  /** Drops the input, its answers and any error; `announcement` is said to screen readers. */
  reset(announcement = ''): void {
    this.cancel();
    this.update({ ...EMPTY, problem: null, announcement });
  }

  /** Drops what was shown and says that `name` is being read (a large file takes a moment to check). */
  reading(name: string): void {
    this.reset(`Reading ${name}…`);
    this.update({ busy: true, progress: `Reading ${name}…` });
  }

  /** Shows a refused file's problem alone (whatever was shown belonged to another input). */
  refuseFile(error: unknown, name?: string): void {
    this.reset();
    if (error instanceof CsvProblem) {
      const what = name ? `"${name}"` : 'This file';
      this.showProblem({ title: `${what} can't be used.`, message: error.message, hint: error.hint }, error.code);
    } else {
      this.showProblem({ title: 'This file could not be read.' }, 'UNREADABLE');
    }
  }

  /** Asks about one drawn image (with its explanation maps); while a drawing grows, its last answer stays up until the next. */
  classifyDrawing(image: Float32Array): Promise<PredictResponse | null> {
    const keep = this.current.source.kind === 'drawing';
    const shown: Images = { images: image, count: 1, labels: [null] };
    return this.run({ kind: 'drawing' }, shown, keep, (signal) =>
      this.predictor.predict(image, 1, [null], () => requestPrediction(this.host.endpoint, { kind: 'pixels', images: image, count: 1, explain: true }, signal), undefined, true),
    );
  }

  /**
   * Asks about a file's images: as the file's own text in one request when it fits in one
   * batch, else as JSON in batches, the answers shown as they arrive.
   */
  classifyFile(file: FileImages): Promise<PredictResponse | null> {
    const source: Source = { kind: 'csv', name: file.name, layout: file.layout, scale: file.scale };
    const batch = this.host.imagesPerRequest;
    if (file.count <= batch && file.text !== undefined) {
      // one uploaded image is explained like a drawing; a larger file is answered without maps
      const body: PredictBody = { kind: 'csv', text: file.text, explain: file.count === 1 };
      return this.run(source, file, false, (signal) =>
        this.predictor.predict(file.images, file.count, file.labels, () => requestPrediction(this.host.endpoint, body, signal), undefined, body.explain === true),
      );
    }
    const progress = (answered: readonly ImagePrediction[], total: number): void => {
      this.update({ predictions: [...answered], progress: `Classified ${thousands(answered.length)} of ${plural(total, 'image')}…` });
    };
    return this.run(source, file, false, (signal) =>
      this.predictor.predict(
        file.images,
        file.count,
        file.labels,
        () => requestInBatches(this.host.endpoint, file.images, file.count, file.labels, batch, signal, progress),
        progress,
      ),
    );
  }

  /** Selects image `index` and turns the grid to the page that holds it. */
  select(index: number): void {
    const { count, filter, predictions, labels } = this.current;
    if (count === 0) return;
    const selected = Math.min(count - 1, Math.max(0, index));
    const at = filteredIndices(filter, count, predictions, labels).indexOf(selected);
    this.update({ selected, page: at < 0 ? this.current.page : Math.floor(at / this.host.imagesPerPage) });
  }

  /** Shows only some of the images in the grid, from its first page. */
  setFilter(filter: GridFilter): void {
    const { count, predictions, labels } = this.current;
    const first = filteredIndices(filter, count, predictions, labels)[0];
    this.update({ filter, page: 0, selected: first ?? this.current.selected });
  }

  /** Turns the grid to `page` (clamped), selecting its first image. */
  setPage(page: number): void {
    const { count, filter, predictions, labels } = this.current;
    const shown = filteredIndices(filter, count, predictions, labels);
    const last = Math.max(0, Math.ceil(shown.length / this.host.imagesPerPage) - 1);
    const next = Math.min(last, Math.max(0, page));
    this.update({ page: next, selected: shown[next * this.host.imagesPerPage] ?? this.current.selected });
  }

  private cancel(): void {
    this.inFlight?.abort();
    this.inFlight = null;
    this.requestId++;
  }

  private update(patch: Partial<ClassifierState>): void {
    this.current = { ...this.current, ...patch };
    this.host.requestUpdate();
  }

  private showProblem(problem: Problem, code?: string, status?: number): void {
    this.update({ problem, busy: false });
    const message = problem.message ? `${problem.title} ${problem.message}` : problem.title;
    const detail: DigitClassifierErrorDetail = { message, code, status };
    this.host.dispatchEvent(new CustomEvent<DigitClassifierErrorDetail>('error', { detail }));
  }

  /** Shows `shown`, sends it with `send`, and shows the answers or the problem. */
  private async run(
    source: Source,
    shown: Images,
    keepAnswers: boolean,
    send: (signal: AbortSignal) => Promise<LocatedResponse>,
  ): Promise<LocatedResponse | null> {
    this.cancel();
    const controller = new AbortController();
    this.inFlight = controller;
    const id = this.requestId;
    const files = source.kind === 'csv';
    this.update({
      ...EMPTY,
      source,
      images: shown.images,
      count: shown.count,
      labels: shown.labels,
      predictions: keepAnswers ? this.current.predictions : [],
      totalMs: keepAnswers ? this.current.totalMs : null,
      provenance: keepAnswers ? this.current.provenance : '',
      busy: true,
      problem: null,
      announcement: files ? `Asking both models about ${plural(shown.count, 'image')}…` : '',
    });
    try {
      const response = await send(controller.signal);
      if (id !== this.requestId) return null;
      this.update({
        predictions: response.predictions,
        totalMs: typeof response.timings?.totalMs === 'number' ? response.timings.totalMs : null,
        provenance: describeProvenance(response),
        announcement: describeAnswers(response.predictions, shown.labels),
      });
      this.host.dispatchEvent(new CustomEvent<LocatedResponse>('prediction', { detail: response, bubbles: true, composed: true }));
      return response;
    } catch (error) {
      if (id !== this.requestId || controller.signal.aborted) return null;
      if (!(error instanceof PredictError)) {
        this.update({ predictions: [] });
        this.showProblem({ title: 'Something went wrong while asking the classifier.', message: 'Please try again.' });
        return null;
      }
      const transient = error.status === 0 || error.status >= 500;
      // A refused file gets no answers: do not leave its images up. A failure that may pass keeps them, with a retry.
      if (!transient && files) this.update({ ...EMPTY });
      else this.update({ predictions: [] });
      const problem = this.explain(error);
      if (transient) problem.retry = () => void this.run(source, shown, false, send);
      this.showProblem(problem, error.code ?? (error.status === 0 ? 'NETWORK' : undefined), error.status || undefined);
      return null;
    } finally {
      if (id === this.requestId) {
        this.inFlight = null;
        this.update({ busy: false, progress: '' });
      }
    }
  }

  /** A failed request as a title (what happened) and a message (details, or what to do). */
  private explain(error: PredictError): Problem {
    const { status } = error;
    const endpoint = this.host.endpoint;
    if (error.code === LOCAL_FAILED) return { title: 'The models could not run in this browser.', message: `${error.message}. Set mode="auto" to ask the server instead.` };
    if (status === 0) return { title: 'Could not reach the classifier.', message: `Check that the server at ${endpoint} is running and reachable.` };
    if (status >= 500) return { title: 'The classifier had a problem.', message: `It answered HTTP ${status}. Please try again in a moment.` };
    if (status === 404) {
      return { title: 'There is no classifier at this address.', message: `${endpoint} answered HTTP 404; check the endpoint attribute.` };
    }
    // The server's own words, with digit-csv's list of accepted shapes split off as a hint.
    const { message, hint } = splitAccepted(error.message);
    if (status === 413) return { title: 'Too much for the classifier at once.', message, hint };
    return { title: 'The classifier refused this input.', message, hint };
  }
}
