// logits (N,K), labels i32 (N) -> loss (1) = mean_n -log softmax(logits)[n, label_n],
// dlogits (N,K) = (softmax - onehot) / N. One workgroup per row writes dlogits and the row's loss
// (log Z - x[label]); a one-thread pass sums the rows in order. Labels are validated by the caller
// (the model checks them on the host); a label outside [0, K) makes that row's loss NaN.
import { ShapeError, type NoAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import type { KernelSpec, WgCtx } from './kernel.ts';
import { ROW_STATS } from './softmax.ts';
import { arg, sameShape } from './tensor.ts';

const ROWS: KernelSpec = {
  name: 'softmaxCrossEntropyRows', bufs: ['x:f32', 'labels:i32', 'd:f32:rw', 'rl:f32:rw'], uni: ['N:u32', 'K:u32'], wg: 64, head: ROW_STATS,
  body: `if (wi >= u.N) { return; }
  let xo = u.o_x + wi * u.K;
  let ms = rowStats(xo, u.K, li);
  let t = labels[u.o_labels + wi];
  let inv = 1.0 / f32(u.N);
  for (var k = li; k < u.K; k += 64u) {
    let p = exp(x[xo + k] - ms.x) / ms.y;
    d[u.o_d + wi * u.K + k] = (p - select(0.0, 1.0, i32(k) == t)) * inv;
  }
  if (li == 0u) {
    var l = bitcast<f32>(0x7fc00000u | (u.N & 0u)); // NaN (runtime: WGSL rejects a constant NaN)
    if (t >= 0 && t < i32(u.K)) { l = ms.x + log(ms.y) - x[xo + u32(t)]; }
    rl[u.o_rl + wi] = l;
  }`,
};

const MEAN: KernelSpec = {
  name: 'softmaxCrossEntropyMean', bufs: ['rl:f32', 'loss:f32:rw'], uni: ['N:u32'], wg: 1,
  body: `var s = 0.0;
  for (var n = 0u; n < u.N; n++) { s += rl[u.o_rl + n]; }
  loss[u.o_loss] = s / f32(u.N);`,
};

export function softmaxCrossEntropy(ctx: WgCtx, inp: OpInputs<'softmaxCrossEntropy'>, _a: NoAttrs): OpOutputs<'softmaxCrossEntropy'> {
  const op = 'softmaxCrossEntropy';
  const logits = arg(op, 'logits', inp.logits, 2), labels = arg(op, 'labels', inp.labels, 1, 'i32');
  const [N, K] = logits.shape;
  sameShape(op, 'labels', labels.shape, 'logits.shape[0]', [N]);
  if (N < 1) throw new ShapeError(op, 'empty batch');
  const loss = ctx.alloc([1]), dlogits = ctx.alloc(logits.shape), rl = ctx.alloc([N]);
  ctx.run(ROWS, { x: logits, labels, d: dlogits, rl }, { N, K }, { groups: N });
  ctx.run(MEAN, { rl, loss }, { N }, { groups: 1 });
  ctx.release(rl);
  return { loss, dlogits };
}
