// logits (N,K), labels i32 (N) -> loss (1) = mean -log softmax[label], dlogits = (softmax - onehot) / N.
// Labels are range-checked on the worker (the data is not on the JS side); a bad one fails the next read.
import { ShapeError, type NoAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { arg, sameShape, type NativeCtx } from './tensor.ts';

export function softmaxCrossEntropy(ctx: NativeCtx, inp: OpInputs<'softmaxCrossEntropy'>, _a: NoAttrs): OpOutputs<'softmaxCrossEntropy'> {
  const op = 'softmaxCrossEntropy';
  const logits = arg(op, 'logits', inp.logits, 2), labels = arg(op, 'labels', inp.labels, 1, 'i32');
  sameShape(op, 'labels', labels.shape, 'logits.shape[0]', [logits.shape[0]]);
  if (logits.shape[0] < 1) throw new ShapeError(op, 'empty batch');
  const loss = ctx.out([1]), dlogits = ctx.out(logits.shape);
  ctx.enqueue(op, [logits, labels], [loss, dlogits], []);
  return { loss, dlogits };
}
