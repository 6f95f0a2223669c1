// Small data-movement ops. fill: x (any) in place; reshape: x (any) -> y (new shape, same elements, copied).
import { ShapeError, sizeOf, type FillAttrs, type OpInputs, type OpOutputs, type ReshapeAttrs, type Tensor } from '../backend.ts';
import { RefTensor, shapeStr, type RefCtx } from './tensor.ts';

function live(op: string, name: string, t: Tensor | undefined): RefTensor {
  if (!(t instanceof RefTensor)) throw new ShapeError(op, `${name} is not a live ref tensor`);
  if (t.freed) throw new ShapeError(op, `${name} was freed`);
  return t;
}

export function fill(inp: OpInputs<'fill'>, a: FillAttrs): OpOutputs<'fill'> {
  const x = live('fill', 'x', inp.x);
  if (x.dtype === 'i32' && !Number.isInteger(a.value)) throw new ShapeError('fill', `value ${a.value} is not an integer for an i32 tensor`);
  x.data.fill(a.value);
  return {};
}

export function reshape(ctx: RefCtx, inp: OpInputs<'reshape'>, a: ReshapeAttrs): OpOutputs<'reshape'> {
  const x = live('reshape', 'x', inp.x);
  if (!Array.isArray(a.shape) || a.shape.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(a.shape) !== x.size) {
    throw new ShapeError('reshape', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(a.shape ?? [])}`);
  }
  const y = ctx.alloc(a.shape, x.dtype);
  y.data.set(x.data);
  return { y };
}
