// x (N,K) -> y (N,K): row-wise softmax, max-subtracted for stability.
import type { NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { arg, type FArr, type RefCtx } from './tensor.ts';

/** y[o..o+K) = softmax(x[o..o+K)); returns log(sum exp(x - max)) + max (the log-partition). */
export function softmaxRow(X: FArr, Y: FArr, o: number, K: number): number {
  let m = -Infinity;
  for (let k = 0; k < K; k++) if (X[o + k] > m) m = X[o + k];
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(X[o + k] - m);
  for (let k = 0; k < K; k++) Y[o + k] = Math.exp(X[o + k] - m) / s;
  return m + Math.log(s);
}

export function softmax(ctx: RefCtx, inp: OpInputs<'softmax'>, _a: NoAttrs): OpOutputs<'softmax'> {
  const x = arg('softmax', 'x', inp.x, 2);
  const [N, K] = x.shape;
  const y = ctx.alloc(x.shape);
  for (let n = 0; n < N; n++) softmaxRow(x.f, y.f, n * K, K);
  return { y };
}
