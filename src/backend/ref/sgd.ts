// w, dw, v: flat tensors of equal size, updated in place (the paper's momentum SGD):
// v <- momentum*v - weightDecay*r*w - r*dw; w <- w + v, with r = lr, or with trust > 0 the layer-wise rate
// (LARS) trustRate gives from the tensor's norms.
// Sizes and attrs were validated by the registry (ops.ts).
import type { OpInputs, OpOutputs, SgdAttrs } from '../backend.ts';
import { arg } from './tensor.ts';

/** The step's rate (SgdAttrs): lr, or with trust > 0, lr * trust * |w| / (|dw| + weightDecay * |w|) from the
 *  tensor's squared norms; lr where either norm is 0 (a zero-initialised or an untouched tensor still moves). */
export function trustRate(a: SgdAttrs, sumW2: number, sumG2: number): number {
  const t = a.trust ?? 0;
  if (!(t > 0) || !(sumW2 > 0) || !(sumG2 > 0)) return a.lr;
  const nw = Math.sqrt(sumW2);
  return (a.lr * t * nw) / (Math.sqrt(sumG2) + a.weightDecay * nw);
}

/** The squared norms trustRate needs (in f64), or zeros when trust is off. */
export function squaredNorms(a: SgdAttrs, w: ArrayLike<number>, dw: ArrayLike<number>): [number, number] {
  if (!((a.trust ?? 0) > 0)) return [0, 0];
  let sw = 0, sg = 0;
  for (let i = 0; i < w.length; i++) { sw += w[i] * w[i]; sg += dw[i] * dw[i]; }
  return [sw, sg];
}

/** The update on host arrays, in place (this op, and optim's host reference for tests). */
export function sgdUpdate(W: Float32Array | Float64Array, DW: ArrayLike<number>, V: Float32Array | Float64Array, a: SgdAttrs): void {
  const { momentum, weightDecay } = a;
  const lr = trustRate(a, ...squaredNorms(a, W, DW));
  for (let i = 0; i < W.length; i++) {
    const vi = momentum * V[i] - weightDecay * lr * W[i] - lr * DW[i];
    V[i] = vi;
    W[i] += vi;
  }
}

export function sgd(inp: OpInputs<'sgd'>, a: SgdAttrs): OpOutputs<'sgd'> {
  const op = 'sgd';
  const w = arg(op, 'w', inp.w), dw = arg(op, 'dw', inp.dw), v = arg(op, 'v', inp.v);
  sgdUpdate(w.f, dw.f, v.f, a);
  return {};
}
