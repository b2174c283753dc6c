/**
 * The drawing surface: pointer events (mouse, touch, pen) and the keyboard draw round strokes
 * on a canvas. Strokes are kept as points in [0, 1] x [0, 1], so the pad redraws itself
 * crisply at any size and device pixel ratio. The ink is read back for `mnistPreprocess`.
 */
import { SIDE } from '@digitlab/digit-csv';
import { inkFromImageData, type InkImage } from './mnist-preprocess.ts';

export interface Point {
  x: number;
  y: number;
}

export interface DrawingPadOptions {
  /** A stroke ended (pointer lifted, or the keyboard pen raised). */
  onStrokeEnd: () => void;
  /** The ink changed in any way (for hints and button states). */
  onChange: () => void;
  /** Stroke width as a fraction of the pad's side. */
  lineWidth?: number;
  /** The colour to draw with, read at each redraw (so CSS custom properties apply). */
  inkColor?: () => string;
}

/** How far one arrow key press moves the keyboard pen, as a fraction of the side. */
export const KEY_STEP = 1 / SIDE;

export class DrawingPad {
  readonly strokes: Point[][] = [];
  /** The keyboard pen: where it is, and whether it is down (drawing). */
  readonly cursor: Point = { x: 0.5, y: 0.5 };
  penDown = false;

  private readonly canvas: HTMLCanvasElement;
  private readonly options: DrawingPadOptions;
  private active: Point[] | null = null;
  private activePointer: number | null = null;
  private readonly resizeObserver: ResizeObserver;

  constructor(canvas: HTMLCanvasElement, options: DrawingPadOptions) {
    this.canvas = canvas;
    this.options = options;
    canvas.addEventListener('pointerdown', this.onPointerDown);
    canvas.addEventListener('pointermove', this.onPointerMove);
    canvas.addEventListener('pointerup', this.onPointerUp);
    canvas.addEventListener('pointercancel', this.onPointerUp);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();
  }

  get hasInk(): boolean {
    return this.strokes.length > 0;
  }

  /** Removes the listeners; the canvas keeps what is drawn. */
  dispose(): void {
    this.canvas.removeEventListener('pointerdown', this.onPointerDown);
    this.canvas.removeEventListener('pointermove', this.onPointerMove);
    this.canvas.removeEventListener('pointerup', this.onPointerUp);
    this.canvas.removeEventListener('pointercancel', this.onPointerUp);
    this.resizeObserver.disconnect();
  }

  clear(): void {
    this.strokes.length = 0;
    this.active = null;
    this.activePointer = null;
    this.penDown = false;
    this.redraw();
    this.options.onChange();
  }

  /** The ink at the canvas's own resolution, 0 to 1 per pixel. */
  ink(): InkImage {
    const ctx = this.context();
    return inkFromImageData(ctx.getImageData(0, 0, this.canvas.width, this.canvas.height));
  }

  /**
   * Keyboard drawing. Arrows move the pen (Shift: 4x further); Space or Enter lowers/raises it.
   * Returns true when the key was used.
   */
  handleKey(event: KeyboardEvent): boolean {
    const step = event.shiftKey ? 4 * KEY_STEP : KEY_STEP;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[event.key];
    if (move) {
      this.cursor.x = clamp01(this.cursor.x + move[0]);
      this.cursor.y = clamp01(this.cursor.y + move[1]);
      if (this.penDown && this.active) {
        this.active.push({ ...this.cursor });
        this.redraw();
        this.options.onChange();
      }
      return true;
    }
    if (event.key === ' ' || event.key === 'Enter') {
      if (this.penDown) {
        this.endStroke();
      } else {
        this.penDown = true;
        this.active = [{ ...this.cursor }];
        this.strokes.push(this.active);
        this.redraw();
        this.options.onChange();
      }
      return true;
    }
    return false;
  }

  /** Draws every stroke again (after a resize, a clear, or a new point). */
  redraw(): void {
    const ctx = this.context();
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const side = Math.min(width, height);
    ctx.lineWidth = (this.options.lineWidth ?? 0.08) * side;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    const colour = this.options.inkColor?.() || '#111827';
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    for (const stroke of this.strokes) {
      if (stroke.length === 1) {
        // A tap: a round dot as wide as the pen.
        ctx.beginPath();
        ctx.arc(stroke[0].x * width, stroke[0].y * height, ctx.lineWidth / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(stroke[0].x * width, stroke[0].y * height);
      for (let i = 1; i < stroke.length; i++) ctx.lineTo(stroke[i].x * width, stroke[i].y * height);
      ctx.stroke();
    }
  }

  private resize(): void {
    const rect = this.canvas.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) return;
    const ratio = Math.min(window.devicePixelRatio || 1, 3);
    const width = Math.round(rect.width * ratio), height = Math.round(rect.height * ratio);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.redraw();
  }

  private context(): CanvasRenderingContext2D {
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser gives no 2D canvas context');
    return ctx;
  }

  private point(event: PointerEvent): Point {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: clamp01((event.clientX - rect.left) / rect.width),
      y: clamp01((event.clientY - rect.top) / rect.height),
    };
  }

  private endStroke(): void {
    const ended = this.active !== null;
    this.active = null;
    this.activePointer = null;
    this.penDown = false;
    if (ended) this.options.onStrokeEnd();
  }

  private readonly onPointerDown = (event: PointerEvent): void => {
    if (event.button !== 0 || this.activePointer !== null) return;
    // No preventDefault: the browser's own focus-on-click keeps :focus-visible for keyboards only;
    // touch-action: none (in the styles) stops scrolling and zooming while drawing.
    this.canvas.setPointerCapture?.(event.pointerId);
    this.activePointer = event.pointerId;
    this.penDown = false;
    this.active = [this.point(event)];
    this.strokes.push(this.active);
    this.redraw();
    this.options.onChange();
  };

  private readonly onPointerMove = (event: PointerEvent): void => {
    if (event.pointerId !== this.activePointer || !this.active) return;
    event.preventDefault();
    // Coalesced events keep fast strokes smooth where the browser batches moves per frame.
    const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
    for (const e of events.length > 0 ? events : [event]) this.active.push(this.point(e));
    this.redraw();
    this.options.onChange();
  };

  private readonly onPointerUp = (event: PointerEvent): void => {
    if (event.pointerId !== this.activePointer) return;
    this.canvas.releasePointerCapture?.(event.pointerId);
    this.endStroke();
  };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
