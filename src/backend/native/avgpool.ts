// Adaptive average pool, x (N,C,H,W) -> y (N,C,outH,outW) over PyTorch's bins (addon/src/pool.cc).
// AlexNet's 6x6 -> 6x6 is an identity copy that keeps the blocked layout.
import type { AdaptiveAvgPoolAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { checkAdaptiveAvgPool } from '../shapes.ts';
import { arg, sameShape, type NativeCtx } from './tensor.ts';

export function adaptiveAvgPool(ctx: NativeCtx, inp: OpInputs<'adaptiveAvgPool'>, a: AdaptiveAvgPoolAttrs): OpOutputs<'adaptiveAvgPool'> {
  const op = 'adaptiveAvgPool';
  checkAdaptiveAvgPool(op, a);
  const x = arg(op, 'x', inp.x, 4);
  const y = ctx.out([x.shape[0], x.shape[1], a.outH, a.outW]);
  ctx.enqueue(op, [x], [y], [a.outH, a.outW]);
  return { y };
}

export function adaptiveAvgPoolBackward(ctx: NativeCtx, inp: OpInputs<'adaptiveAvgPoolBackward'>, a: AdaptiveAvgPoolAttrs): OpOutputs<'adaptiveAvgPoolBackward'> {
  const op = 'adaptiveAvgPoolBackward';
  checkAdaptiveAvgPool(op, a);
  const x = arg(op, 'x', inp.x, 4), dy = arg(op, 'dy', inp.dy, 4);
  sameShape(op, 'dy', dy.shape, 'y', [x.shape[0], x.shape[1], a.outH, a.outW]);
  const dx = ctx.out(x.shape);
  ctx.enqueue(op, [x, dy], [dx], [a.outH, a.outW]);
  return { dx };
}
