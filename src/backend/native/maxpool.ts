// Max pool, floor mode, x (N,C,H,W) -> y (N,C,P,Q); argmax is oneDNN's workspace (backend-private).
import { ShapeError, outSize, type OpInputs, type OpOutputs, type PoolAttrs } from '../backend.ts';
import { arg, positiveInt, sameShape, type NativeCtx } from './tensor.ts';

function outShape(op: string, xs: readonly number[], a: PoolAttrs): number[] {
  positiveInt(op, 'kernel', a.kernel);
  positiveInt(op, 'stride', a.stride);
  positiveInt(op, 'pad', a.pad, 0);
  if (2 * a.pad > a.kernel) throw new ShapeError(op, `pad ${a.pad} must be at most half of kernel ${a.kernel}`);
  const P = outSize(xs[2], a.kernel, a.stride, a.pad), Q = outSize(xs[3], a.kernel, a.stride, a.pad);
  if (P < 1 || Q < 1) throw new ShapeError(op, `kernel ${a.kernel} larger than padded input ${xs[2]}x${xs[3]}`);
  return [xs[0], xs[1], P, Q];
}

export function maxPool(ctx: NativeCtx, inp: OpInputs<'maxPool'>, a: PoolAttrs): OpOutputs<'maxPool'> {
  const x = arg('maxPool', 'x', inp.x, 4);
  const ys = outShape('maxPool', x.shape, a);
  const y = ctx.out(ys), argmax = ctx.out(ys, 'i32');
  ctx.enqueue('maxPool', [x], [y, argmax], [a.kernel, a.stride, a.pad]);
  return { y, argmax };
}

export function maxPoolBackward(ctx: NativeCtx, inp: OpInputs<'maxPoolBackward'>, a: PoolAttrs): OpOutputs<'maxPoolBackward'> {
  const op = 'maxPoolBackward';
  const x = arg(op, 'x', inp.x, 4), argmax = arg(op, 'argmax', inp.argmax, 4, 'i32'), dy = arg(op, 'dy', inp.dy, 4);
  const ys = outShape(op, x.shape, a);
  sameShape(op, 'dy', dy.shape, 'y', ys);
  sameShape(op, 'argmax', argmax.shape, 'y', ys);
  const dx = ctx.out(x.shape);
  ctx.enqueue(op, [x, argmax, dy], [dx], [a.kernel, a.stride, a.pad]);
  return { dx };
}
