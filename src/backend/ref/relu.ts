// x (any shape) -> y (same); backward: dx = dy * [y > 0].
import type { NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { arg, type RefCtx } from './tensor.ts';

export function relu(ctx: RefCtx, inp: OpInputs<'relu'>, _a: NoAttrs): OpOutputs<'relu'> {
  const x = arg('relu', 'x', inp.x);
  const y = ctx.alloc(x.shape), X = x.f, Y = y.f;
  for (let i = 0; i < X.length; i++) Y[i] = X[i] > 0 ? X[i] : 0;
  return { y };
}

export function reluBackward(ctx: RefCtx, inp: OpInputs<'reluBackward'>, _a: NoAttrs): OpOutputs<'reluBackward'> {
  const op = 'reluBackward';
  const y = arg(op, 'y', inp.y), dy = arg(op, 'dy', inp.dy);
  const dx = ctx.alloc(y.shape), Y = y.f, DY = dy.f, DX = dx.f;
  for (let i = 0; i < Y.length; i++) DX[i] = Y[i] > 0 ? DY[i] : 0;
  return { dx };
}
