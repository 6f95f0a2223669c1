// y = max(x, 0) in x's layout (oneDNN eltwise); backward dx = dy * [y > 0] from y.
import type { NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { arg, sameShape, type NativeCtx } from './tensor.ts';

export function relu(ctx: NativeCtx, inp: OpInputs<'relu'>, _a: NoAttrs): OpOutputs<'relu'> {
  const x = arg('relu', 'x', inp.x);
  const y = ctx.out(x.shape);
  ctx.enqueue('relu', [x], [y], []);
  return { y };
}

export function reluBackward(ctx: NativeCtx, inp: OpInputs<'reluBackward'>, _a: NoAttrs): OpOutputs<'reluBackward'> {
  const op = 'reluBackward';
  const y = arg(op, 'y', inp.y), dy = arg(op, 'dy', inp.dy);
  sameShape(op, 'dy', dy.shape, 'y', y.shape);
  const dx = ctx.out(y.shape);
  ctx.enqueue(op, [y, dy], [dx], []);
  return { dx };
}
