// A model's parameters and a training run's checkpoint as safetensors bytes: the one definition of
// both layouts, without Node's fs, so a run folder on disk and a browser worker keep the same files.
import type { OptimizerState } from '@digitlab/tensor';
import type { Preset } from './config.js';
import type { Model } from './model.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

/** One line of a run's epoch log, written at the end of every epoch. */
export interface EpochLog {
  readonly epoch: number;
  readonly lr: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly valLoss: number;
  readonly valAccuracy: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
  readonly best: boolean;
}

/** The counters a checkpoint keeps beside the tensors, so a resumed run continues bit for bit. */
export interface RunState {
  epoch: number;
  stepInEpoch: number;
  totalSteps: number;
  rng: number[];
  bestValAccuracy: number;
  bestEpoch: number;
  seconds: number;
  history: EpochLog[];
  epochLossSum: number;
  epochCorrect: number;
  epochSeen: number;
  optimizerStep: number;
  backend: string;
}

/** A decoded checkpoint: the run's preset and counters, its parameters, Adam's moments and the epoch's image order. */
export interface Checkpoint {
  readonly preset: Preset;
  readonly state: RunState;
  /** Parameters by name, as paramsToTensors gives them. */
  readonly params: Record<string, NamedTensor>;
  /** Adam's state, its step taken from the counters. */
  readonly optimizer: OptimizerState;
  readonly perm: Int32Array;
}

// In a checkpoint, parameters are "param/<name>" and Adam's moments "adam.m/<i>", "adam.v/<i>" in parameter order.
const PARAM = 'param/';
const MOMENTS = ['adam.m/', 'adam.v/'] as const;

/** Parameters as safetensors entries. */
export function paramsToTensors(model: Model): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of model.params) out[name] = { shape: [...t.shape], data: t.data };
  return out;
}

/** Loads parameters by name, checking every shape. */
export function loadParams(model: Model, tensors: Record<string, NamedTensor>, prefix = ''): void {
  for (const [name, t] of model.params) {
    const src = tensors[prefix + name];
    if (!src) throw new Error(`weights have no tensor "${prefix + name}"`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`tensor "${name}": weights have shape [${src.shape}], the model needs [${t.shape}]`);
    t.data.set(src.data);
  }
}

/** A model's parameters as a safetensors file with the given metadata. */
export function encodeWeights(model: Model, metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors(paramsToTensors(model), metadata);
}

/** A training run's checkpoint as a safetensors file: parameters, Adam's moments, the image order; preset and counters in the metadata. */
export function encodeCheckpoint(model: Model, optimizer: OptimizerState, perm: Int32Array, preset: Preset, state: RunState): Uint8Array {
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, p] of model.params) tensors[PARAM + name] = { shape: [...p.shape], data: p.data };
  [...model.params.values()].forEach((p, i) => {
    MOMENTS.forEach((prefix, slot) => (tensors[`${prefix}${i}`] = { shape: [...p.shape], data: optimizer.slots[slot][i] }));
  });
  tensors.perm = { shape: [perm.length], data: Float32Array.from(perm) };
  return encodeSafetensors(tensors, { config: JSON.stringify(preset), state: JSON.stringify(state) });
}

/** Reads a checkpoint written by encodeCheckpoint. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.config === undefined || metadata.state === undefined || !tensors.perm) throw new Error('not a training checkpoint: it needs "config" and "state" metadata and a "perm" tensor');
  const state = JSON.parse(metadata.state) as RunState;
  const params: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(PARAM)) params[name.slice(PARAM.length)] = t;
  const slots = MOMENTS.map((prefix) => {
    const out: Float32Array[] = [];
    for (let i = 0; tensors[`${prefix}${i}`]; i++) out.push(tensors[`${prefix}${i}`].data);
    return out;
  });
  return { preset: JSON.parse(metadata.config) as Preset, state, params, optimizer: { step: state.optimizerStep, slots }, perm: Int32Array.from(tensors.perm.data) };
}
