// x (N,K) -> y (N,K): row-wise softmax (addon/src/softmax.cc).
import type { NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { arg, type NativeCtx } from './tensor.ts';

export function softmax(ctx: NativeCtx, inp: OpInputs<'softmax'>, _a: NoAttrs): OpOutputs<'softmax'> {
  const x = arg('softmax', 'x', inp.x, 2);
  const y = ctx.out(x.shape);
  ctx.enqueue('softmax', [x], [y], []);
  return { y };
}
