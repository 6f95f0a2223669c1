// logits (N,K), labels i32 (N) -> loss (1) = mean_n -log softmax(logits)[n, label_n],
// dlogits (N,K) = (softmax - onehot) / N.
import { ShapeError, type NoAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { softmaxRow } from './softmax.ts';
import { arg, type RefCtx } from './tensor.ts';

export function softmaxCrossEntropy(ctx: RefCtx, inp: OpInputs<'softmaxCrossEntropy'>, _a: NoAttrs): OpOutputs<'softmaxCrossEntropy'> {
  const op = 'softmaxCrossEntropy';
  const logits = arg(op, 'logits', inp.logits, 2), labels = arg(op, 'labels', inp.labels, 1, 'i32');
  const [N, K] = logits.shape;
  const L = labels.i, X = logits.f;
  const loss = ctx.alloc([1]), dlogits = ctx.alloc(logits.shape), D = dlogits.f;
  let total = 0;
  for (let n = 0; n < N; n++) {
    const t = L[n];
    if (!(t >= 0 && t < K)) throw new ShapeError(op, `label ${t} at index ${n} outside [0, ${K})`);
    const o = n * K;
    const logZ = softmaxRow(X, D, o, K);
    total += logZ - X[o + t];
    D[o + t] -= 1;
    for (let k = 0; k < K; k++) D[o + k] /= N;
  }
  loss.f[0] = total / N;
  return { loss, dlogits };
}
