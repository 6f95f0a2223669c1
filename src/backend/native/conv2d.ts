// x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q); runs as oneDNN convolution (addon/src/conv.cc).
// backward: dw += , db += (into the arena), dx = (omitted when !needDx).
import { type Conv2dAttrs, type Conv2dBackwardAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { convGeometry } from '../shapes.ts';
import { arg, sameShape, type NativeCtx } from './tensor.ts';

function geometry(op: string, xs: readonly number[], ws: readonly number[], a: Conv2dAttrs): [number, number, number, number] {
  const g = convGeometry(op, xs, ws, a);
  return [g.N, g.K, g.P, g.Q];
}

export function conv2d(ctx: NativeCtx, inp: OpInputs<'conv2d'>, a: Conv2dAttrs): OpOutputs<'conv2d'> {
  const op = 'conv2d';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), b = arg(op, 'b', inp.b, 1);
  const ys = geometry(op, x.shape, w.shape, a);
  sameShape(op, 'b', b.shape, 'w.shape[0]', [w.shape[0]]);
  const y = ctx.out(ys);
  ctx.enqueue(op, [x, w, b], [y], [a.stride, a.pad, a.groups]);
  return { y };
}

export function conv2dBackward(ctx: NativeCtx, inp: OpInputs<'conv2dBackward'>, a: Conv2dBackwardAttrs): OpOutputs<'conv2dBackward'> {
  const op = 'conv2dBackward';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), dy = arg(op, 'dy', inp.dy, 4);
  const dw = arg(op, 'dw', inp.dw, 4), db = arg(op, 'db', inp.db, 1);
  const ys = geometry(op, x.shape, w.shape, a);
  sameShape(op, 'dy', dy.shape, 'y', ys);
  sameShape(op, 'dw', dw.shape, 'w', w.shape);
  sameShape(op, 'db', db.shape, 'w.shape[0]', [w.shape[0]]);
  if (!a.needDx) {
    ctx.enqueue(op, [x, w, dy, dw, db], [], [a.stride, a.pad, a.groups, 0]);
    return {};
  }
  const dx = ctx.out(x.shape);
  ctx.enqueue(op, [x, w, dy, dw, db], [dx], [a.stride, a.pad, a.groups, 1]);
  return { dx };
}
