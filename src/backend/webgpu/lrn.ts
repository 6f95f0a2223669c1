// x (N,C,H,W) -> y (N,C,H,W), scale (N,C,H,W). One thread per element, in slices of whole images that fit one binding.
// scale_c = k + a' * sum_{j in win(c)} x_j^2, y_c = x_c * scale_c^-beta,
// a' = alpha ('paper') or alpha/size ('pytorch'); win(c) = [c-lo, c+hi] clipped, lo = floor((size-1)/2), hi = ceil((size-1)/2).
// backward: dx_c = dy_c scale_c^-beta - 2 a' beta x_c * sum_{j : c in win(j)} dy_j y_j / scale_j (j in [c-hi, c+lo]).
import { ShapeError, type LrnAttrs, type OpInputs, type OpOutputs } from '../backend.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, positiveInt, sameShape } from './tensor.ts';

const U = ['n:u32', 'C:u32', 'HW:u32', 'lo:u32', 'hi:u32', 'k:f32', 'ap:f32', 'beta:f32'];

const FWD: KernelSpec = {
  name: 'lrn', bufs: ['x:f32', 'y:f32:rw', 'scale:f32:rw'], uni: U, wg: 64,
  body: `if (gi >= u.n) { return; }
  let i = gi % u.HW; let c = (gi / u.HW) % u.C; let base = gi - c * u.HW;
  var s = 0.0;
  for (var j = max(i32(c) - i32(u.lo), 0); j <= min(i32(c + u.hi), i32(u.C) - 1); j++) {
    let v = x[u.o_x + base + u32(j) * u.HW];
    s += v * v;
  }
  let sc = u.k + u.ap * s;
  scale[u.o_scale + gi] = sc;
  y[u.o_y + gi] = x[u.o_x + gi] * pow(sc, -u.beta);`,
};

const BWD: KernelSpec = {
  name: 'lrnBackward', bufs: ['x:f32', 'y:f32', 'scale:f32', 'dy:f32', 'dx:f32:rw'], uni: U, wg: 64,
  body: `if (gi >= u.n) { return; }
  let i = gi % u.HW; let c = (gi / u.HW) % u.C; let base = gi - c * u.HW;
  var s = 0.0;
  for (var j = max(i32(c) - i32(u.hi), 0); j <= min(i32(c + u.lo), i32(u.C) - 1); j++) {
    let e = base + u32(j) * u.HW;
    s += dy[u.o_dy + e] * y[u.o_y + e] / scale[u.o_scale + e];
  }
  dx[u.o_dx + gi] = dy[u.o_dy + gi] * pow(scale[u.o_scale + gi], -u.beta) - 2.0 * u.ap * u.beta * x[u.o_x + gi] * s;`,
};

function check(op: string, a: LrnAttrs): Record<string, number> {
  positiveInt(op, 'size', a.size);
  if (a.convention !== 'paper' && a.convention !== 'pytorch') throw new ShapeError(op, `unknown convention '${String(a.convention)}'`);
  if (!(a.k > 0) && !(a.k === 0 && a.alpha > 0)) throw new ShapeError(op, `k must be > 0, got ${a.k}`);
  const ap = a.convention === 'paper' ? a.alpha : a.alpha / a.size;
  return { ap, lo: Math.floor((a.size - 1) / 2), hi: Math.ceil((a.size - 1) / 2), k: a.k, beta: a.beta };
}

export function lrn(ctx: WgCtx, inp: OpInputs<'lrn'>, a: LrnAttrs): OpOutputs<'lrn'> {
  const op = 'lrn';
  const c = check(op, a);
  const x = arg(op, 'x', inp.x, 4);
  const [N, C, H, W] = x.shape, CHW = C * H * W;
  const y = ctx.alloc(x.shape), scale = ctx.alloc(x.shape);
  for (const [n0, nb] of chunks(ctx, N, CHW)) {
    const w = (t: typeof x) => ({ t, start: n0 * CHW, count: nb * CHW });
    ctx.run(FWD, { x: w(x), y: w(y), scale: w(scale) }, { ...c, n: nb * CHW, C, HW: H * W }, { threads: nb * CHW });
  }
  return { y, scale };
}

export function lrnBackward(ctx: WgCtx, inp: OpInputs<'lrnBackward'>, a: LrnAttrs): OpOutputs<'lrnBackward'> {
  const op = 'lrnBackward';
  const c = check(op, a);
  const x = arg(op, 'x', inp.x, 4), y = arg(op, 'y', inp.y, 4), scale = arg(op, 'scale', inp.scale, 4), dy = arg(op, 'dy', inp.dy, 4);
  sameShape(op, 'y', y.shape, 'x', x.shape);
  sameShape(op, 'scale', scale.shape, 'x', x.shape);
  sameShape(op, 'dy', dy.shape, 'x', x.shape);
  const [N, C, H, W] = x.shape, CHW = C * H * W;
  const dx = ctx.alloc(x.shape);
  for (const [n0, nb] of chunks(ctx, N, CHW)) {
    const w = (t: typeof x) => ({ t, start: n0 * CHW, count: nb * CHW });
    ctx.run(BWD, { x: w(x), y: w(y), scale: w(scale), dy: w(dy), dx: w(dx) }, { ...c, n: nb * CHW, C, HW: H * W }, { threads: nb * CHW });
  }
  return { dx };
}
