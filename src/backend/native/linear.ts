// x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O) = x w^T + b, as row-major SGEMM (addon/src/linear.cc).
// backward: dw += dy^T x, db += sum_n dy, dx = dy w.
import { ShapeError, type LinearBackwardAttrs, type NoAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { arg, sameShape, shapeStr, type NativeCtx } from './tensor.ts';

function dims(op: string, xs: readonly number[], ws: readonly number[]): [number, number, number] {
  const [N, I] = xs, [O, Iw] = ws;
  if (I !== Iw) throw new ShapeError(op, `x ${shapeStr(xs)} has ${I} features but w ${shapeStr(ws)} expects ${Iw}`);
  return [N, I, O];
}

export function linear(ctx: NativeCtx, inp: OpInputs<'linear'>, _a: NoAttrs): OpOutputs<'linear'> {
  const op = 'linear';
  const x = arg(op, 'x', inp.x, 2), w = arg(op, 'w', inp.w, 2), b = arg(op, 'b', inp.b, 1);
  const [N, , O] = dims(op, x.shape, w.shape);
  sameShape(op, 'b', b.shape, 'w.shape[0]', [O]);
  const y = ctx.out([N, O]);
  ctx.enqueue(op, [x, w, b], [y], []);
  return { y };
}

export function linearBackward(ctx: NativeCtx, inp: OpInputs<'linearBackward'>, a: LinearBackwardAttrs): OpOutputs<'linearBackward'> {
  const op = 'linearBackward';
  const x = arg(op, 'x', inp.x, 2), w = arg(op, 'w', inp.w, 2), dy = arg(op, 'dy', inp.dy, 2);
  const dw = arg(op, 'dw', inp.dw, 2), db = arg(op, 'db', inp.db, 1);
  const [N, , O] = dims(op, x.shape, w.shape);
  sameShape(op, 'dy', dy.shape, 'y', [N, O]);
  sameShape(op, 'dw', dw.shape, 'w', w.shape);
  sameShape(op, 'db', db.shape, 'w.shape[0]', [O]);
  const dx = a.needDx ? ctx.out(x.shape) : undefined;
  ctx.enqueue(op, [x, w, dy, dw, db], dx ? [dx] : [], [a.needDx ? 1 : 0]);
  return dx ? { dx } : {};
}
