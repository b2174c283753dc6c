/**
 * Why the models answered: each model's 28x28 map of an image (the CNN's saliency, the ViT's
 * class-token attention), checked as it arrives and drawn as a heat layer over the preview.
 *
 * The maps come with the answers: the server's `POST /predict?explain=1` puts them in each
 * prediction's `explanation`, and local mode's engine worker does the same in the page when a
 * request carries `explain: true`.
 */
// types only: the server's wire contract, with no code of it in the bundle
import type { ExplanationMap as WireExplanationMap, Prediction as WirePrediction } from '@digitlab/digit-csv/contract';
import { PIXELS } from '@digitlab/digit-csv';
import { pixelsToPngUrl } from './digit-image.ts';

/** One model's map of one image: 784 weights in [0, 1], row-major 28x28 like the pixels (the wire contract's). */
export type ExplanationMap = WireExplanationMap;

/** What a map shows: the CNN's input saliency, or the ViT's class-token attention. */
export type ExplanationKind = ExplanationMap['kind'];

/** Both models' maps of one image (null for a model that gave none). */
export type Explanations = NonNullable<WirePrediction['explanation']>;

/** Which map the preview shows. */
export type ExplanationView = 'off' | 'cnn' | 'vit';

/** The switch's choices, in order. */
export const EXPLANATION_VIEWS: ReadonlyArray<{ view: ExplanationView; label: string; kind?: ExplanationKind }> = [
  { view: 'off', label: 'Off' },
  { view: 'cnn', label: 'CNN saliency', kind: 'saliency' },
  { view: 'vit', label: 'ViT attention', kind: 'attention' },
];

/** The maps if `value` is the promised `{ cnn, vit }` of 784-value maps (at least one), else null. */
export function checkExplanations(value: unknown): Explanations | null {
  if (typeof value !== 'object' || value === null) return null;
  const { cnn, vit } = value as Record<string, unknown>;
  const checked = { cnn: checkMap(cnn), vit: checkMap(vit) };
  if ((cnn != null && !checked.cnn) || (vit != null && !checked.vit) || (!checked.cnn && !checked.vit)) return null;
  return checked;
}

function checkMap(value: unknown): ExplanationMap | null {
  if (typeof value !== 'object' || value === null) return null;
  const { kind, map } = value as Record<string, unknown>;
  if (kind !== 'saliency' && kind !== 'attention') return null;
  if (!Array.isArray(map) || map.length !== PIXELS) return null;
  if (!map.every((v): v is number => typeof v === 'number' && v >= 0 && v <= 1)) return null;
  return { kind, map };
}

/** Heat colours from cold to hot (a map's 0 to 1), blended linearly between the stops. */
const HEAT: ReadonlyArray<[number, number, number]> = [
  [49, 46, 129],
  [190, 24, 93],
  [249, 115, 22],
  [254, 240, 138],
];

/** Colour and opacity of one map weight: opacity grows faster than the weight, so weak weights let the digit show through. */
export function heatOf(weight: number): [number, number, number, number] {
  const w = Math.min(1, Math.max(0, weight));
  const at = w * (HEAT.length - 1);
  const i = Math.min(HEAT.length - 2, Math.floor(at));
  const f = at - i;
  const [a, b] = [HEAT[i], HEAT[i + 1]];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, Math.round(255 * Math.min(0.85, w ** 1.5))];
}

const drawn = new WeakMap<number[], string>();

/** A map as a 28x28 PNG data URL of heat colours with transparency, to lay over the preview (drawn once per map). */
export function heatLayerUrl(map: ExplanationMap): string {
  const cached = drawn.get(map.map);
  if (cached !== undefined) return cached;
  const url = pixelsToPngUrl((data) => map.map.forEach((weight, i) => data.set(heatOf(weight), 4 * i)));
  if (url !== '') drawn.set(map.map, url);
  return url;
}

/** What the caption under the switch says a map shows. */
export function describeMap(view: ExplanationView): string {
  if (view === 'cnn') return 'Bright pixels changed the CNN’s answer most (the gradient of its top score).';
  if (view === 'vit') return 'Bright patches got the most attention from the ViT’s class token in its last layer.';
  return 'See which pixels each model based its answer on.';
}
