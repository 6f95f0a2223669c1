// The executable layer list and the forward/backward engine. Tensors are freed as soon as no
// later step needs them: in training each cached tensor is reference-counted over the caches and
// freed right after the last backward that reads it.
import type { Backend, Tensor } from '../backend/backend.ts';
import { AvgPool } from '../layers/avgpool.ts';
import { Conv2d } from '../layers/conv2d.ts';
import { Dropout } from '../layers/dropout.ts';
import { Flatten } from '../layers/flatten.ts';
import { EVAL, cachedTensors } from '../layers/layer.ts';
import type { Cache, ForwardContext, Layer, ParamSlot } from '../layers/layer.ts';
import { Linear } from '../layers/linear.ts';
import { lossBackward, lossForward } from '../layers/loss.ts';
import { Lrn } from '../layers/lrn.ts';
import { MaxPool } from '../layers/maxpool.ts';
import { Relu } from '../layers/relu.ts';
import type { LayerSpec } from './spec.ts';

export function buildLayers(specs: readonly LayerSpec[]): Layer[] {
  return specs.map((s): Layer => {
    switch (s.kind) {
      case 'conv': return new Conv2d(s.name, s.param, { stride: s.stride, pad: s.pad, groups: s.groups });
      case 'relu': return new Relu(s.name);
      case 'lrn': return new Lrn(s.name, s.attrs);
      case 'maxpool': return new MaxPool(s.name, { kernel: s.kernel, stride: s.stride, pad: s.pad });
      case 'avgpool': return new AvgPool(s.name, { outH: s.out, outW: s.out });
      case 'flatten': return new Flatten(s.name);
      case 'dropout': return new Dropout(s.name, s.p, s.index);
      case 'linear': return new Linear(s.name, s.param);
    }
  });
}

export function bindLayers(layers: readonly Layer[], slots: ReadonlyMap<string, ParamSlot>): void {
  for (const l of layers) if (l.param && l.bind) l.bind(slots.get(l.param)!);
}

/** Eval forward; frees everything but the result (and, when `keep` is given, every layer output it records). */
export function forwardEval(be: Backend, layers: readonly Layer[], x: Tensor, stopAfter?: string, keep?: Map<string, Tensor>): Tensor {
  let cur = x;
  for (const l of layers) {
    const { y, cache } = l.forward(be, cur, EVAL);
    for (const v of cachedTensors(l, cache)) if (v !== cur && v !== y) be.free(v); // argmax, scale: not needed in eval
    if (keep) {
      if (l.kind !== 'flatten') keep.set(l.name, y); // flatten's output is recorded as drop6 (identity in eval)
    } else if (cur !== y) {
      be.free(cur);
    }
    cur = y;
    if (l.name === stopAfter) break;
  }
  return cur;
}

export interface TrainResult { loss: Tensor; logits: Tensor }

/** Forward with caches, loss, backward into the (pre-zeroed) grad arena. Frees all intermediates and x.
 *  Returns the loss tensor and (if keepLogits) the logits; the caller frees them. */
/** `firstTrained`: layers before it hold frozen parameters (or none) and are not backpropagated. */
export function forwardBackward(be: Backend, layers: readonly Layer[], x: Tensor, labels: Tensor, ctx: ForwardContext, keepLogits: boolean, firstTrained = 0): TrainResult {
  const refs = new Map<Tensor, number>();
  const caches: Cache[] = new Array(layers.length);
  let cur = x;
  for (let i = 0; i < layers.length; i++) {
    const { y, cache } = layers[i].forward(be, cur, ctx);
    caches[i] = cache;
    for (const v of cachedTensors(layers[i], cache)) refs.set(v, (refs.get(v) ?? 0) + 1);
    if (cur !== y && !refs.has(cur)) be.free(cur);
    cur = y;
  }
  const logits = cur;
  const { loss, cache: lc } = lossForward(be, logits, labels);
  if (!keepLogits && !refs.has(logits)) be.free(logits);
  let dy: Tensor | undefined = lossBackward(lc);
  for (let i = layers.length - 1; i >= 0; i--) {
    const dx: Tensor | undefined = i < firstTrained ? undefined : layers[i].backward(be, dy!, caches[i], i > firstTrained);
    const param = layers[i].param;
    if (param !== undefined && i >= firstTrained) ctx.onParamGrads?.(param); // its dw, db are final (queued)
    if (dy && dx !== dy) be.free(dy);
    for (const v of cachedTensors(layers[i], caches[i])) {
      const n = refs.get(v)! - 1;
      if (n === 0) { refs.delete(v); if (v !== logits || !keepLogits) be.free(v); } else refs.set(v, n);
    }
    dy = dx;
  }
  if (dy) be.free(dy);
  return { loss, logits };
}
