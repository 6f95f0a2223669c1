// x (N,C,H,W) -> y (N,C,P,Q), argmax (N,C,P,Q) i32 = h*W+w of the winner inside its (n,c) plane.
// Floor mode; padding never wins; ties go to the first max in row-major window order. One thread per output.
// backward: one thread per input element, gathering dy from every window whose argmax is that element
// (windows visited in (p, q) order, the same order in which ref scatters), so no atomics are needed.
// An argmax outside the plane (not this backend's cache) contributes nothing.
// Both run in slices of whole images that fit one binding.
import type { OpInputs, OpOutputs, PoolAttrs } from '../backend.ts';
import { poolGeometry } from '../ops.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, sameShape } from './tensor.ts';

const U = ['n:u32', 'H:u32', 'W:u32', 'P:u32', 'Q:u32', 'kernel:u32', 'stride:u32', 'pad:u32'];

const FWD: KernelSpec = {
  name: 'maxPool', bufs: ['x:f32', 'y:f32:rw', 'am:i32:rw'], uni: U, wg: 64,
  body: `if (gi >= u.n) { return; }
  let q = gi % u.Q; let p = (gi / u.Q) % u.P; let nc = gi / (u.P * u.Q);
  let xo = u.o_x + nc * u.H * u.W;
  let h0 = i32(p * u.stride) - i32(u.pad); let w0 = i32(q * u.stride) - i32(u.pad);
  let h1 = min(i32(u.H), h0 + i32(u.kernel)); let w1 = min(i32(u.W), w0 + i32(u.kernel));
  var best = 0.0; var bi = -1;
  for (var h = max(h0, 0); h < h1; h++) {
    for (var w = max(w0, 0); w < w1; w++) {
      let v = x[xo + u32(h) * u.W + u32(w)];
      if (v > best || bi < 0) { best = v; bi = h * i32(u.W) + w; }
    }
  }
  y[u.o_y + gi] = best;
  am[u.o_am + gi] = bi;`,
};

const BWD: KernelSpec = {
  name: 'maxPoolBackward', bufs: ['am:i32', 'dy:f32', 'dx:f32:rw'], uni: U, wg: 64,
  body: `if (gi >= u.n) { return; }
  let w = i32(gi % u.W); let h = i32((gi / u.W) % u.H); let nc = gi / (u.H * u.W);
  let st = i32(u.stride); let k = i32(u.kernel); let pd = i32(u.pad);
  // windows p with p*st - pad <= h < p*st - pad + k
  let p0 = max(0, (h + pd - k + st) / st); let p1 = min(i32(u.P) - 1, (h + pd) / st);
  let q0 = max(0, (w + pd - k + st) / st); let q1 = min(i32(u.Q) - 1, (w + pd) / st);
  let me = h * i32(u.W) + w;
  let yo = nc * u.P * u.Q;
  var acc = 0.0;
  for (var p = p0; p <= p1; p++) {
    for (var q = q0; q <= q1; q++) {
      let o = yo + u32(p) * u.Q + u32(q);
      if (am[u.o_am + o] == me) { acc += dy[u.o_dy + o]; }
    }
  }
  dx[u.o_dx + gi] = acc;`,
};

export function maxPool(ctx: WgCtx, inp: OpInputs<'maxPool'>, a: PoolAttrs): OpOutputs<'maxPool'> {
  const op = 'maxPool';
  const x = arg(op, 'x', inp.x, 4);
  const [N, C, H, W, P, Q] = poolGeometry(op, x.shape, a);
  const y = ctx.alloc([N, C, P, Q]), am = ctx.alloc([N, C, P, Q], 'i32');
  const I = C * H * W, O = C * P * Q;
  for (const [n0, nb] of chunks(ctx, N, I)) {
    ctx.run(FWD, { x: { t: x, start: n0 * I, count: nb * I }, y: { t: y, start: n0 * O, count: nb * O }, am: { t: am, start: n0 * O, count: nb * O } },
      { ...a, n: nb * O, H, W, P, Q }, { threads: nb * O });
  }
  return { y, argmax: am };
}

export function maxPoolBackward(ctx: WgCtx, inp: OpInputs<'maxPoolBackward'>, a: PoolAttrs): OpOutputs<'maxPoolBackward'> {
  const op = 'maxPoolBackward';
  const x = arg(op, 'x', inp.x, 4), am = arg(op, 'argmax', inp.argmax, 4, 'i32'), dy = arg(op, 'dy', inp.dy, 4);
  const [N, C, H, W, P, Q] = poolGeometry(op, x.shape, a);
  sameShape(op, 'dy', dy.shape, 'pool output', [N, C, P, Q]);
  sameShape(op, 'argmax', am.shape, 'pool output', [N, C, P, Q]);
  const dx = ctx.alloc(x.shape);
  const I = C * H * W, O = C * P * Q;
  for (const [n0, nb] of chunks(ctx, N, I)) {
    ctx.run(BWD, { am: { t: am, start: n0 * O, count: nb * O }, dy: { t: dy, start: n0 * O, count: nb * O }, dx: { t: dx, start: n0 * I, count: nb * I } },
      { ...a, n: nb * I, H, W, P, Q }, { threads: nb * I });
  }
  return { dx };
}
