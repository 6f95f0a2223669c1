// What every layer looks like to the model: forward returns its output and a typed cache, backward takes
// dy and that cache and returns dx (parameter gradients accumulate in the grad arena). Each layer names the
// cache fields that hold tensors (`cacheTensors`), so the network engine reference-counts and frees exactly
// those, without guessing from the values.
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
  /** Index of this batch's first sample in its global batch (data-parallel ranks): masks are drawn per
   *  global sample, so N ranks of B/N samples drop exactly what one process of B samples drops. */
  sampleOffset?: number;
  /** Training: called once a parameter layer's gradients are final (backward order), e.g. to start
   *  reducing them across ranks while the rest of backward runs. */
  onParamGrads?: (param: string) => void;
}

/** A parameter layer's views into the parameter and gradient arenas. */
export interface ParamSlot { readonly w: Tensor; readonly b: Tensor; readonly dw: Tensor; readonly db: Tensor }

export interface Layer<C extends object = Cache> {
  readonly name: string;
  readonly kind: string;
  /** Set for conv/linear: the state_dict prefix (features.0, classifier.1, ...). */
  readonly param?: string;
  /** The cache fields that hold tensors (possibly undefined ones). */
  readonly cacheTensors: readonly (keyof C & string)[];
  forward(be: Backend, x: Tensor, ctx: ForwardContext): { y: Tensor; cache: C };
  /** dx, or undefined when !needDx (first layer). */
  backward(be: Backend, dy: Tensor, cache: C, needDx: boolean): Tensor | undefined;
  /** Parameter layers: attach the arena views. */
  bind?(slot: ParamSlot): void;
}

/** The tensors a layer's cache holds, in its declared order. */
export function cachedTensors<C extends object>(l: Layer<C>, cache: C): Tensor[] {
  const out: Tensor[] = [];
  for (const k of l.cacheTensors) {
    const v = cache[k] as Tensor | undefined;
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** A parameter layer's slot, or a clear error before the first bind. */
export function boundSlot(name: string, slot: ParamSlot | undefined): ParamSlot {
  if (!slot) throw new Error(`${name}: parameters not bound`);
  return slot;
}

export const EVAL: ForwardContext = { train: false, dropout: false, dropoutSeed: 0 };
