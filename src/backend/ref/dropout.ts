// x (any shape) -> y (same), mask (same; 1 = kept, 0 = dropped).
// keep[i] = dropoutUniform(seed, i) >= p over the flat index i; y = x * keep / (1 - p) (inverted dropout).
// backward: dx = dy * keep / (1 - p).
import { dropoutUniform, type DropoutAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { arg, type RefCtx } from './tensor.ts';

function gain(_op: string, a: DropoutAttrs): number {
  return a.p === 1 ? 0 : 1 / (1 - a.p); // p = 1 drops everything
}

export function dropout(ctx: RefCtx, inp: OpInputs<'dropout'>, a: DropoutAttrs): OpOutputs<'dropout'> {
  const op = 'dropout';
  const s = gain(op, a);
  const x = arg(op, 'x', inp.x);
  const y = ctx.alloc(x.shape), mask = ctx.alloc(x.shape), X = x.f, Y = y.f, M = mask.f;
  for (let i = 0; i < X.length; i++) {
    const keep = dropoutUniform(a.seed, i) >= a.p;
    M[i] = keep ? 1 : 0;
    Y[i] = keep ? X[i] * s : 0;
  }
  return { y, mask };
}

export function dropoutBackward(ctx: RefCtx, inp: OpInputs<'dropoutBackward'>, a: DropoutAttrs): OpOutputs<'dropoutBackward'> {
  const op = 'dropoutBackward';
  const s = gain(op, a);
  const mask = arg(op, 'mask', inp.mask), dy = arg(op, 'dy', inp.dy);
  const dx = ctx.alloc(dy.shape), M = mask.f, DY = dy.f, DX = dx.f;
  for (let i = 0; i < DY.length; i++) DX[i] = M[i] !== 0 ? DY[i] * s : 0;
  return { dx };
}
