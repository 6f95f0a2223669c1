// x (N,C,H,W) -> y (N,C,P,Q), argmax (N,C,P,Q) i32 = h*W+w of the winner inside its (n,c) plane.
// Floor mode; padding never wins (-inf); ties go to the first max in row-major window order.
// backward: dx[argmax] += dy (overlapping windows add up).
import { ShapeError, type OpInputs, type OpOutputs, type PoolAttrs } from '../backend.ts';
import { poolGeometry as geometry } from '../ops.ts';
import { arg, type RefCtx } from './tensor.ts';

export function maxPool(ctx: RefCtx, inp: OpInputs<'maxPool'>, a: PoolAttrs): OpOutputs<'maxPool'> {
  const op = 'maxPool';
  const x = arg(op, 'x', inp.x, 4);
  const [N, C, H, W, P, Q] = geometry(op, x.shape, a);
  const y = ctx.alloc([N, C, P, Q]), argmax = ctx.alloc([N, C, P, Q], 'i32');
  const X = x.f, Y = y.f, AM = argmax.i;
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    for (let p = 0; p < P; p++) {
      const h0 = p * a.stride - a.pad, h1 = Math.min(H, h0 + a.kernel);
      for (let q = 0; q < Q; q++) {
        const w0 = q * a.stride - a.pad, w1 = Math.min(W, w0 + a.kernel);
        let best = -Infinity, bi = -1;
        for (let h = Math.max(0, h0); h < h1; h++) {
          for (let w = Math.max(0, w0); w < w1; w++) {
            const v = X[xo + h * W + w];
            if (v > best || bi < 0) { best = v; bi = h * W + w; }
          }
        }
        const o = (nc * P + p) * Q + q;
        Y[o] = best;
        AM[o] = bi;
      }
    }
  }
  return { y, argmax };
}

export function maxPoolBackward(ctx: RefCtx, inp: OpInputs<'maxPoolBackward'>, a: PoolAttrs): OpOutputs<'maxPoolBackward'> {
  const op = 'maxPoolBackward';
  const x = arg(op, 'x', inp.x, 4), argmax = arg(op, 'argmax', inp.argmax, 4, 'i32'), dy = arg(op, 'dy', inp.dy, 4);
  const [N, C, H, W, P, Q] = geometry(op, x.shape, a);
  const dx = ctx.alloc(x.shape), AM = argmax.i, DY = dy.f, DX = dx.f;
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W, yo = nc * P * Q;
    for (let i = 0; i < P * Q; i++) {
      const am = AM[yo + i];
      if (!(am >= 0 && am < H * W)) throw new ShapeError(op, `argmax ${am} at ${yo + i} outside the ${H}x${W} plane (not a ref maxPool cache?)`);
      DX[xo + am] += DY[yo + i];
    }
  }
  return { dx };
}
