// w, dw, v: flat tensors of equal size, updated in place (the paper's momentum SGD):
// v <- momentum*v - weightDecay*lr*w - lr*dw; w <- w + v.
// Sizes and attrs were validated by the registry (ops.ts).
import type { OpInputs, OpOutputs, SgdAttrs } from '../backend.ts';
import { arg } from './tensor.ts';

export function sgd(inp: OpInputs<'sgd'>, a: SgdAttrs): OpOutputs<'sgd'> {
  const op = 'sgd';
  const w = arg(op, 'w', inp.w), dw = arg(op, 'dw', inp.dw), v = arg(op, 'v', inp.v);
  const W = w.f, DW = dw.f, V = v.f, { lr, momentum, weightDecay } = a;
  for (let i = 0; i < W.length; i++) {
    const vi = momentum * V[i] - weightDecay * lr * W[i] - lr * DW[i];
    V[i] = vi;
    W[i] += vi;
  }
  return {};
}
