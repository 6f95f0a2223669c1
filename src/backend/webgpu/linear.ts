// x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O) = x w^T + b; all three products run on gemm.ts.
// backward: dw += dy^T x, db += sum_n dy, dx = dy w (omitted when !needDx).
// w is processed in blocks of output rows so no binding exceeds maxStorageBufferBindingSize (fc6's weight,
// 4096x9216 f32, is 151 MB; Mesa allows 128 MiB per binding): y and dw take their columns/rows per block,
// dx sums the blocks' products (the first assigns, the rest accumulate).
import { ShapeError, type LinearBackwardAttrs, type NoAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { gemm } from './gemm.ts';
import { chunks, type WgCtx } from './kernel.ts';
import { arg, sameShape, shapeStr } from './tensor.ts';

function dims(op: string, xs: readonly number[], ws: readonly number[]): [number, number, number] {
  const [N, I] = xs, [O, Iw] = ws;
  if (I !== Iw) throw new ShapeError(op, `x ${shapeStr(xs)} has ${I} features, w ${shapeStr(ws)} expects ${Iw}`);
  return [N, I, O];
}

export function linear(ctx: WgCtx, inp: OpInputs<'linear'>, _a: NoAttrs): OpOutputs<'linear'> {
  const op = 'linear';
  const x = arg(op, 'x', inp.x, 2), w = arg(op, 'w', inp.w, 2), b = arg(op, 'b', inp.b, 1);
  const [N, I, O] = dims(op, x.shape, w.shape);
  sameShape(op, 'b', b.shape, 'w.shape[0]', [O]);
  const y = ctx.alloc([N, O]);
  for (const [o0, no] of chunks(ctx, O, I)) {
    gemm(ctx, {
      a: x, b: { t: w, start: o0 * I, count: no * I }, bias: { t: b, start: o0, count: no }, c: { t: y, start: o0, count: (N - 1) * O + no },
      M: N, N: no, K: I, sam: I, sak: 1, sbk: 1, sbn: I, scm: O, scn: 1, accumulate: false,
    });
  }
  return { y };
}

export function linearBackward(ctx: WgCtx, inp: OpInputs<'linearBackward'>, a: LinearBackwardAttrs): OpOutputs<'linearBackward'> {
  const op = 'linearBackward';
  const x = arg(op, 'x', inp.x, 2), w = arg(op, 'w', inp.w, 2), dy = arg(op, 'dy', inp.dy, 2);
  const dw = arg(op, 'dw', inp.dw, 2), db = arg(op, 'db', inp.db, 1);
  const [N, I, O] = dims(op, x.shape, w.shape);
  sameShape(op, 'dy', dy.shape, 'linear output', [N, O]);
  sameShape(op, 'dw', dw.shape, 'w', w.shape);
  sameShape(op, 'db', db.shape, 'w.shape[0]', [O]);
  const blocks = chunks(ctx, O, I);
  for (const [o0, no] of blocks) {
    // dw[o0:o0+no, :] += dy[:, o0:o0+no]^T x
    gemm(ctx, {
      a: { t: dy, start: o0, count: (N - 1) * O + no }, b: x, c: { t: dw, start: o0 * I, count: no * I },
      M: no, N: I, K: N, sam: 1, sak: O, sbk: I, sbn: 1, scm: I, scn: 1, accumulate: true,
    });
  }
  // db (1,O) += ones (1,N) dy (N,O)
  gemm(ctx, { a: { t: ctx.ones(N), count: N }, b: dy, c: db, M: 1, N: O, K: N, sam: N, sak: 1, sbk: O, sbn: 1, scm: O, scn: 1, accumulate: true });
  if (!a.needDx) return {};
  const dx = ctx.alloc(x.shape);
  blocks.forEach(([o0, no], i) => {
    // dx += dy[:, o0:o0+no] w[o0:o0+no, :]
    gemm(ctx, {
      a: { t: dy, start: o0, count: (N - 1) * O + no }, b: { t: w, start: o0 * I, count: no * I }, c: dx,
      M: N, N: I, K: no, sam: O, sak: 1, sbk: I, sbn: 1, scm: I, scn: 1, accumulate: i > 0,
    });
  });
  return { dx };
}
