// x (any shape) -> y (same); backward: dx = dy * [y > 0]. One thread per element, in pieces that fit one binding.
import type { NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, sameShape } from './tensor.ts';

const FWD: KernelSpec = {
  name: 'relu', bufs: ['x:f32', 'y:f32:rw'], uni: ['n:u32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  let v = x[u.o_x + gi];
  y[u.o_y + gi] = select(0.0, v, v > 0.0);`,
};

const BWD: KernelSpec = {
  name: 'reluBackward', bufs: ['y:f32', 'dy:f32', 'dx:f32:rw'], uni: ['n:u32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  dx[u.o_dx + gi] = select(0.0, dy[u.o_dy + gi], y[u.o_y + gi] > 0.0);`,
};

export function relu(ctx: WgCtx, inp: OpInputs<'relu'>, _a: NoAttrs): OpOutputs<'relu'> {
  const x = arg('relu', 'x', inp.x);
  const y = ctx.alloc(x.shape);
  for (const [start, count] of chunks(ctx, x.size)) ctx.run(FWD, { x: { t: x, start, count }, y: { t: y, start, count } }, { n: count }, { threads: count });
  return { y };
}

export function reluBackward(ctx: WgCtx, inp: OpInputs<'reluBackward'>, _a: NoAttrs): OpOutputs<'reluBackward'> {
  const op = 'reluBackward';
  const y = arg(op, 'y', inp.y), dy = arg(op, 'dy', inp.dy);
  sameShape(op, 'dy', dy.shape, 'y', y.shape);
  const dx = ctx.alloc(y.shape);
  for (const [start, count] of chunks(ctx, y.size)) {
    ctx.run(BWD, { y: { t: y, start, count }, dy: { t: dy, start, count }, dx: { t: dx, start, count } }, { n: count }, { threads: count });
  }
  return { dx };
}
