// Softmax cross-entropy. logits (N,K), labels i32 (N) -> loss (1) = mean_n -log softmax[n, label];
// the op produces dlogits = (softmax - onehot)/N with the loss, so the cache is dlogits itself.
import type { Backend, Tensor } from '../backend/backend.ts';

export type LossCache = { dlogits: Tensor };

const NO_ATTRS = {} as Record<string, never>;

export function lossForward(be: Backend, logits: Tensor, labels: Tensor): { loss: Tensor; cache: LossCache } {
  const { loss, dlogits } = be.run('softmaxCrossEntropy', { logits, labels }, NO_ATTRS);
  return { loss, cache: { dlogits } };
}

/** dL/dlogits for L = mean loss (dL/dloss = 1); ownership of the tensor passes to the caller. */
export function lossBackward(cache: LossCache): Tensor {
  return cache.dlogits;
}
