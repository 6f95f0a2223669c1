// w, dw, v: flat tensors of equal size, updated in place by one OpenMP SIMD loop over the whole arena:
// v <- momentum*v - weightDecay*lr*w - lr*dw; w <- w + v.
import { ShapeError, type OpInputs, type OpOutputs, type SgdAttrs } from '../backend.ts';
import { arg, shapeStr, type NativeCtx } from './tensor.ts';

export function sgd(ctx: NativeCtx, inp: OpInputs<'sgd'>, a: SgdAttrs): OpOutputs<'sgd'> {
  const op = 'sgd';
  const w = arg(op, 'w', inp.w), dw = arg(op, 'dw', inp.dw), v = arg(op, 'v', inp.v);
  if (dw.size !== w.size || v.size !== w.size) {
    throw new ShapeError(op, `w ${shapeStr(w.shape)}, dw ${shapeStr(dw.shape)} and v ${shapeStr(v.shape)} must have the same size`);
  }
  for (const [k, x] of Object.entries(a)) if (!Number.isFinite(x)) throw new ShapeError(op, `${k} must be finite, got ${x}`);
  ctx.enqueue(op, [w, dw, v], [], [a.lr, a.momentum, a.weightDecay]);
  return {};
}
