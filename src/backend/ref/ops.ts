// Small data-movement ops. fill: x (any) in place; reshape: x (any) -> y (new shape, same elements, copied).
// Validated by the registry (ops.ts) before they run.
import type { FillAttrs, OpInputs, OpOutputs, ReshapeAttrs } from '../backend.ts';
import type { RefCtx, RefTensor } from './tensor.ts';

export function fill(inp: OpInputs<'fill'>, a: FillAttrs): OpOutputs<'fill'> {
  (inp.x as RefTensor).data.fill(a.value);
  return {};
}

export function reshape(ctx: RefCtx, inp: OpInputs<'reshape'>, a: ReshapeAttrs): OpOutputs<'reshape'> {
  const x = inp.x as RefTensor;
  const y = ctx.alloc(a.shape, x.dtype);
  y.data.set(x.data);
  return { y };
}
