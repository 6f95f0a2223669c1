// LRN across channels, x (N,C,H,W) -> y, scale (oneDNN workspace). 'paper' alpha is passed to oneDNN as
// alpha*size (oneDNN divides by size); even sizes are unsupported (oneDNN's window is symmetric) -> fallback.
import { ShapeError, type LrnAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { arg, positiveInt, sameShape, type NativeCtx } from './tensor.ts';

export function lrnSupported(a: LrnAttrs): boolean {
  return Number.isInteger(a.size) && a.size % 2 === 1;
}

function attrs(op: string, a: LrnAttrs): number[] {
  positiveInt(op, 'size', a.size);
  if (a.convention !== 'paper' && a.convention !== 'pytorch') throw new ShapeError(op, `unknown convention '${String(a.convention)}'`);
  if (!(a.k > 0)) throw new ShapeError(op, `k must be > 0, got ${a.k}`);
  return [a.size, a.alpha, a.beta, a.k, a.convention === 'paper' ? 0 : 1];
}

export function lrn(ctx: NativeCtx, inp: OpInputs<'lrn'>, a: LrnAttrs): OpOutputs<'lrn'> {
  const at = attrs('lrn', a);
  const x = arg('lrn', 'x', inp.x, 4);
  const y = ctx.out(x.shape), scale = ctx.out(x.shape);
  ctx.enqueue('lrn', [x], [y, scale], at);
  return { y, scale };
}

export function lrnBackward(ctx: NativeCtx, inp: OpInputs<'lrnBackward'>, a: LrnAttrs): OpOutputs<'lrnBackward'> {
  const op = 'lrnBackward';
  const at = attrs(op, a);
  const x = arg(op, 'x', inp.x, 4), y = arg(op, 'y', inp.y, 4), scale = arg(op, 'scale', inp.scale, 4), dy = arg(op, 'dy', inp.dy, 4);
  sameShape(op, 'dy', dy.shape, 'x', x.shape);
  sameShape(op, 'y', y.shape, 'x', x.shape);
  sameShape(op, 'scale', scale.shape, 'x', x.shape);
  const dx = ctx.out(x.shape);
  ctx.enqueue(op, [x, y, scale, dy], [dx], at);
  return { dx };
}
