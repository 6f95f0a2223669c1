// Small data-movement ops. fill: x in place; reshape: x -> y (new shape; a plain x is aliased, a blocked one
// is reordered to row-major NCHW first).
import { ShapeError, sizeOf, type FillAttrs, type OpInputs, type OpOutputs, type ReshapeAttrs } from '../backend.ts';
import { arg, shapeStr, type NativeCtx } from './tensor.ts';

export function fill(ctx: NativeCtx, inp: OpInputs<'fill'>, a: FillAttrs): OpOutputs<'fill'> {
  const x = arg('fill', 'x', inp.x, undefined, inp.x?.dtype === 'i32' ? 'i32' : 'f32');
  if (x.dtype === 'i32' && !Number.isInteger(a.value)) throw new ShapeError('fill', `value ${a.value} is not an integer for an i32 tensor`);
  if (typeof a.value !== 'number') throw new ShapeError('fill', `value must be a number, got ${String(a.value)}`);
  ctx.enqueue('fill', [x], [], [a.value]);
  return {};
}

export function reshape(ctx: NativeCtx, inp: OpInputs<'reshape'>, a: ReshapeAttrs): OpOutputs<'reshape'> {
  const x = arg('reshape', 'x', inp.x, undefined, inp.x?.dtype === 'i32' ? 'i32' : 'f32');
  if (!Array.isArray(a.shape) || a.shape.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(a.shape) !== x.size) {
    throw new ShapeError('reshape', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(a.shape ?? [])}`);
  }
  const y = ctx.out(a.shape, x.dtype);
  ctx.enqueue('reshape', [x], [y], a.shape);
  return { y };
}
