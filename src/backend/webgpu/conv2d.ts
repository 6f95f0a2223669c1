// x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q); P = (H+2pad-R)/stride+1 (floor).
// forward: one thread per output, direct sum over the group's Cg*R*S window.
// backward: dx one thread per input element (gathers the outputs whose windows cover it: p with
// p*stride - pad + r = h), assigned; dw one 64-wide workgroup per weight, reducing over N*P*Q, accumulated;
// db one workgroup per channel, accumulated.
import type { Conv2dAttrs, Conv2dBackwardAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { convGeometry, type ConvGeom } from '../shapes.ts';
import { REDUCE_HEAD, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, sameShape } from './tensor.ts';

const GEOM = ['N:u32', 'C:u32', 'H:u32', 'W:u32', 'K:u32', 'R:u32', 'S:u32', 'P:u32', 'Q:u32', 'Cg:u32', 'Kg:u32', 'stride:u32', 'pad:u32'];

const FWD: KernelSpec = {
  name: 'conv2d', bufs: ['x:f32', 'wt:f32', 'b:f32', 'y:f32:rw'], uni: [...GEOM, 'n:u32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  let q = gi % u.Q; var t = gi / u.Q; let p = t % u.P; t = t / u.P; let k = t % u.K; let n = t / u.K;
  let c0 = (k / u.Kg) * u.Cg;
  let h0 = i32(p * u.stride) - i32(u.pad); let w0 = i32(q * u.stride) - i32(u.pad);
  var acc = 0.0;
  for (var c = 0u; c < u.Cg; c++) {
    let xc = u.o_x + (n * u.C + c0 + c) * u.H * u.W;
    let wk = u.o_wt + ((k * u.Cg + c) * u.R) * u.S;
    for (var r = 0u; r < u.R; r++) {
      let h = h0 + i32(r);
      if (h < 0 || h >= i32(u.H)) { continue; }
      let xr = xc + u32(h) * u.W;
      for (var s = 0u; s < u.S; s++) {
        let w = w0 + i32(s);
        if (w < 0 || w >= i32(u.W)) { continue; }
        acc += x[xr + u32(w)] * wt[wk + r * u.S + s];
      }
    }
  }
  y[u.o_y + gi] = acc + b[u.o_b + k];`,
};

const DX: KernelSpec = {
  name: 'conv2dBackwardDx', bufs: ['wt:f32', 'dy:f32', 'dx:f32:rw'], uni: [...GEOM, 'n:u32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  let w = gi % u.W; var t = gi / u.W; let h = t % u.H; t = t / u.H; let c = t % u.C; let n = t / u.C;
  let g = c / u.Cg; let cl = c % u.Cg;
  var acc = 0.0;
  for (var kk = 0u; kk < u.Kg; kk++) {
    let k = g * u.Kg + kk;
    let dyk = u.o_dy + (n * u.K + k) * u.P * u.Q;
    let wk = u.o_wt + ((k * u.Cg + cl) * u.R) * u.S;
    for (var r = 0u; r < u.R; r++) {
      let ph = i32(h + u.pad) - i32(r);
      if (ph < 0 || ph % i32(u.stride) != 0) { continue; }
      let p = u32(ph) / u.stride;
      if (p >= u.P) { continue; }
      for (var s = 0u; s < u.S; s++) {
        let qw = i32(w + u.pad) - i32(s);
        if (qw < 0 || qw % i32(u.stride) != 0) { continue; }
        let q = u32(qw) / u.stride;
        if (q >= u.Q) { continue; }
        acc += dy[dyk + p * u.Q + q] * wt[wk + r * u.S + s];
      }
    }
  }
  dx[u.o_dx + gi] = acc;`,
};

const DW: KernelSpec = {
  name: 'conv2dBackwardDw', bufs: ['x:f32', 'dy:f32', 'dw:f32:rw'], uni: [...GEOM, 'n:u32'], wg: 64, head: REDUCE_HEAD,
  body: `if (wi >= u.n) { return; }
  let s = wi % u.S; var t = wi / u.S; let r = t % u.R; t = t / u.R; let cl = t % u.Cg; let k = t / u.Cg;
  let c = (k / u.Kg) * u.Cg + cl;
  let PQ = u.P * u.Q;
  var acc = 0.0;
  for (var j = li; j < u.N * PQ; j += 64u) {
    let n = j / PQ; let pq = j % PQ; let p = pq / u.Q; let q = pq % u.Q;
    let h = i32(p * u.stride + r) - i32(u.pad); let w = i32(q * u.stride + s) - i32(u.pad);
    if (h < 0 || h >= i32(u.H) || w < 0 || w >= i32(u.W)) { continue; }
    acc += dy[u.o_dy + (n * u.K + k) * PQ + pq] * x[u.o_x + ((n * u.C + c) * u.H + u32(h)) * u.W + u32(w)];
  }
  let tot = wgSum(acc, li);
  if (li == 0u) { dw[u.o_dw + wi] += tot; }`,
};

const DB: KernelSpec = {
  name: 'conv2dBackwardDb', bufs: ['dy:f32', 'db:f32:rw'], uni: ['N:u32', 'K:u32', 'PQ:u32'], wg: 64, head: REDUCE_HEAD,
  body: `if (wi >= u.K) { return; }
  var acc = 0.0;
  for (var j = li; j < u.N * u.PQ; j += 64u) {
    acc += dy[u.o_dy + ((j / u.PQ) * u.K + wi) * u.PQ + j % u.PQ];
  }
  let tot = wgSum(acc, li);
  if (li == 0u) { db[u.o_db + wi] += tot; }`,
};

function uni(g: ConvGeom, a: Conv2dAttrs, n: number): Record<string, number> {
  return { ...g, stride: a.stride, pad: a.pad, n };
}

export function conv2d(ctx: WgCtx, inp: OpInputs<'conv2d'>, a: Conv2dAttrs): OpOutputs<'conv2d'> {
  const op = 'conv2d';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), b = arg(op, 'b', inp.b, 1);
  const g = convGeometry(op, x.shape, w.shape, a);
  sameShape(op, 'b', b.shape, 'w.shape[0]', [g.K]);
  const y = ctx.alloc([g.N, g.K, g.P, g.Q]);
  ctx.run(FWD, { x, wt: w, b, y }, uni(g, a, y.size), { threads: y.size });
  return { y };
}

export function conv2dBackward(ctx: WgCtx, inp: OpInputs<'conv2dBackward'>, a: Conv2dBackwardAttrs): OpOutputs<'conv2dBackward'> {
  const op = 'conv2dBackward';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), dy = arg(op, 'dy', inp.dy, 4);
  const dw = arg(op, 'dw', inp.dw, 4), db = arg(op, 'db', inp.db, 1);
  const g = convGeometry(op, x.shape, w.shape, a);
  sameShape(op, 'dy', dy.shape, 'conv output', [g.N, g.K, g.P, g.Q]);
  sameShape(op, 'dw', dw.shape, 'w', w.shape);
  sameShape(op, 'db', db.shape, 'w.shape[0]', [g.K]);
  ctx.run(DW, { x, dy, dw }, uni(g, a, w.size), { groups: w.size });
  ctx.run(DB, { dy, db }, { N: g.N, K: g.K, PQ: g.P * g.Q }, { groups: g.K });
  if (!a.needDx) return {};
  const dx = ctx.alloc(x.shape);
  ctx.run(DX, { wt: w, dy, dx }, uni(g, a, x.size), { threads: x.size });
  return { dx };
}
