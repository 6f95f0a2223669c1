// What every layer looks like to the model: forward returns its output and a named cache,
// backward takes dy and that cache and returns dx (parameter gradients accumulate in the grad arena).
import type { Backend, Tensor } from '../backend/backend.ts';

/** Named values a forward keeps for its backward (tensors, plus small host values such as shapes). */
export type Cache = Record<string, unknown>;

export interface ForwardContext {
  /** Training mode: keep caches, apply dropout. */
  train: boolean;
  /** Dropout on/off in training (fixture tests switch it off). */
  dropout: boolean;
  /** Base seed of this step's dropout masks. */
  dropoutSeed: number;
}

/** A parameter layer's views into the parameter and gradient arenas. */
export interface ParamSlot { w: Tensor; b: Tensor; dw: Tensor; db: Tensor }

export interface Layer {
  readonly name: string;
  readonly kind: string;
  /** Set for conv/linear: the state_dict prefix (features.0, classifier.1, ...). */
  readonly param?: string;
  forward(be: Backend, x: Tensor, ctx: ForwardContext): { y: Tensor; cache: Cache };
  /** dx, or undefined when !needDx (first layer). */
  backward(be: Backend, dy: Tensor, cache: Cache, needDx: boolean): Tensor | undefined;
  /** Parameter layers: (re)attach arena views (after the arena is replaced). */
  bind?(slot: ParamSlot): void;
}

export const EVAL: ForwardContext = { train: false, dropout: false, dropoutSeed: 0 };

export function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'backendName' in v && 'shape' in v && 'dtype' in v;
}
