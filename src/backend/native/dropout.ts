// Inverted dropout with the counter-based mask of backend.ts dropoutUniform (ported bit for bit to C++):
// keep[i] = dropoutUniform(seed, i) >= p over the flat NCHW index; mask stores keep / (1 - p).
import { type DropoutAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { checkDropout } from '../shapes.ts';
import { arg, sameShape, type NativeCtx } from './tensor.ts';

function attrs(op: string, a: DropoutAttrs): number[] {
  checkDropout(op, a);
  // (seed + imul(i, c)) >>> 0 == (seed mod 2^32 + i*c) mod 2^32 for integer seeds
  const seed = ((a.seed % 4294967296) + 4294967296) % 4294967296;
  return [a.p, seed];
}

export function dropout(ctx: NativeCtx, inp: OpInputs<'dropout'>, a: DropoutAttrs): OpOutputs<'dropout'> {
  const at = attrs('dropout', a);
  const x = arg('dropout', 'x', inp.x);
  const y = ctx.out(x.shape), mask = ctx.out(x.shape);
  ctx.enqueue('dropout', [x], [y, mask], at);
  return { y, mask };
}

export function dropoutBackward(ctx: NativeCtx, inp: OpInputs<'dropoutBackward'>, a: DropoutAttrs): OpOutputs<'dropoutBackward'> {
  const op = 'dropoutBackward';
  const at = attrs(op, a);
  const mask = arg(op, 'mask', inp.mask), dy = arg(op, 'dy', inp.dy);
  sameShape(op, 'dy', dy.shape, 'mask', mask.shape);
  const dx = ctx.out(dy.shape);
  ctx.enqueue(op, [mask, dy], [dx], at);
  return { dx };
}
