// w, dw, v: flat tensors of equal size, updated in place (the paper's momentum SGD):
// v <- momentum*v - weightDecay*lr*w - lr*dw; w <- w + v. One thread per element, in pieces that fit one binding.
import { ShapeError, type OpInputs, type OpOutputs, type SgdAttrs } from '../backend.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, shapeStr } from './tensor.ts';

const SGD: KernelSpec = {
  name: 'sgd', bufs: ['w:f32:rw', 'dw:f32', 'v:f32:rw'], uni: ['n:u32', 'lr:f32', 'm:f32', 'wd:f32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  let wv = w[u.o_w + gi];
  let vi = u.m * v[u.o_v + gi] - u.wd * u.lr * wv - u.lr * dw[u.o_dw + gi];
  v[u.o_v + gi] = vi;
  w[u.o_w + gi] = wv + vi;`,
};

export function sgd(ctx: WgCtx, inp: OpInputs<'sgd'>, a: SgdAttrs): OpOutputs<'sgd'> {
  const op = 'sgd';
  const w = arg(op, 'w', inp.w), dw = arg(op, 'dw', inp.dw), v = arg(op, 'v', inp.v);
  if (dw.size !== w.size || v.size !== w.size) {
    throw new ShapeError(op, `w ${shapeStr(w.shape)}, dw ${shapeStr(dw.shape)} and v ${shapeStr(v.shape)} must have the same size`);
  }
  for (const [k, x] of Object.entries(a)) if (!Number.isFinite(x)) throw new ShapeError(op, `${k} must be finite, got ${x}`);
  for (const [start, count] of chunks(ctx, w.size)) {
    ctx.run(SGD, { w: { t: w, start, count }, dw: { t: dw, start, count }, v: { t: v, start, count } },
      { n: count, lr: a.lr, m: a.momentum, wd: a.weightDecay }, { threads: count });
  }
  return {};
}
