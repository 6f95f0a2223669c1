// x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O) = x w^T + b.
// backward: dw += dy^T x, db += sum_n dy, dx = dy w.
// Shapes were validated by the registry (ops.ts).
import type { LinearBackwardAttrs, NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { gemm } from './gemm.ts';
import { arg, type RefCtx } from './tensor.ts';

const dims = (xs: readonly number[], ws: readonly number[]): [number, number, number] => [xs[0], xs[1], ws[0]];

export function linear(ctx: RefCtx, inp: OpInputs<'linear'>, _a: NoAttrs): OpOutputs<'linear'> {
  const op = 'linear';
  const x = arg(op, 'x', inp.x, 2), w = arg(op, 'w', inp.w, 2), b = arg(op, 'b', inp.b, 1);
  const [N, I, O] = dims(x.shape, w.shape);
  const y = ctx.alloc([N, O]), Y = y.f, B = b.f;
  gemm('N', 'T', N, O, I, x.f, w.f, Y, false);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) Y[n * O + o] += B[o];
  return { y };
}

export function linearBackward(ctx: RefCtx, inp: OpInputs<'linearBackward'>, a: LinearBackwardAttrs): OpOutputs<'linearBackward'> {
  const op = 'linearBackward';
  const x = arg(op, 'x', inp.x, 2), w = arg(op, 'w', inp.w, 2), dy = arg(op, 'dy', inp.dy, 2);
  const dw = arg(op, 'dw', inp.dw, 2), db = arg(op, 'db', inp.db, 1);
  const [N, I, O] = dims(x.shape, w.shape);
  const DY = dy.f, DB = db.f;
  gemm('T', 'N', O, I, N, DY, x.f, dw.f, true);
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += DY[n * O + o];
    DB[o] += s;
  }
  if (!a.needDx) return {};
  const dx = ctx.alloc(x.shape);
  gemm('N', 'N', N, I, O, DY, w.f, dx.f, false);
  return { dx };
}
