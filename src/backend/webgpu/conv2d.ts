// x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q); P = (H+2pad-R)/stride+1 (floor).
// Every product is an implicit GEMM on gemm.ts, one group per workgroup z (g: group, Kg = K/G, Cg = C/G):
//   forward  y_g (Kg, n·P·Q)   = w_g (Kg, Cg·R·S) · col_g (Cg·R·S, n·P·Q) + b        (assigned)
//   dx       dx_g (Cg, n·H·W)  = w_g^T (Cg, Kg·R·S) · dycol_g (Kg·R·S, n·H·W)          (assigned)
//   dw       dw_g (Kg, Cg·R·S) += dy_g (Kg, n·P·Q) · col_g^T (n·P·Q, Cg·R·S)           (accumulated)
// where col's element is the input pixel under (c, r, s) of output (n, p, q), 0 in the padding, and
// dycol's is dy at the output whose window puts (r, s) on input (h, w), 0 where there is none.
// db += sum over n, p, q of dy: one 64-wide workgroup per channel.
// The batch is processed in slices so no binding exceeds the adapter's limit and no dispatch exceeds
// 65535 workgroups along x.
import type { Conv2dAttrs, Conv2dBackwardAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { convGeometry, type ConvGeom } from '../shapes.ts';
import { gemmGrid, gemmKernel } from './gemm.ts';
import { chunks, REDUCE_HEAD, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, sameShape } from './tensor.ts';

const GEOM = ['C:u32', 'H:u32', 'W:u32', 'K:u32', 'R:u32', 'S:u32', 'P:u32', 'Q:u32', 'Cg:u32', 'Kg:u32', 'stride:u32', 'pad:u32'];

// x pixel under (c, r, s) of output column n = (image, p, q) of group g; 0 in the padding
const COL = `
fn col(g: u32, k: u32, n: u32) -> f32 {
  let s = k % u.S; let t = k / u.S; let r = t % u.R; let c = t / u.R;
  let q = n % u.Q; let t2 = n / u.Q; let p = t2 % u.P; let im = t2 / u.P;
  let h = i32(p * u.stride + r) - i32(u.pad); let w = i32(q * u.stride + s) - i32(u.pad);
  if (h < 0 || h >= i32(u.H) || w < 0 || w >= i32(u.W)) { return 0.0; }
  return x[u.o_x + ((im * u.C + g * u.Cg + c) * u.H + u32(h)) * u.W + u32(w)];
}`;

const FWD = gemmKernel('conv2d', ['x:f32', 'wt:f32', 'bias:f32', 'y:f32:rw'], GEOM, `${COL}
fn loadA(g: u32, m: u32, k: u32) -> f32 { return wt[u.o_wt + (g * u.Kg + m) * u.Cg * u.R * u.S + k]; }
fn loadB(g: u32, k: u32, n: u32) -> f32 { return col(g, k, n); }
fn store(g: u32, m: u32, n: u32, v: f32) {
  let ch = g * u.Kg + m; let PQ = u.P * u.Q;
  y[u.o_y + ((n / PQ) * u.K + ch) * PQ + n % PQ] = v + bias[u.o_bias + ch];
}`);

const DX = gemmKernel('conv2dBackwardDx', ['wt:f32', 'dy:f32', 'dx:f32:rw'], GEOM, `
fn loadA(g: u32, m: u32, k: u32) -> f32 {
  let s = k % u.S; let t = k / u.S; let r = t % u.R; let kk = t / u.R;
  return wt[u.o_wt + (((g * u.Kg + kk) * u.Cg + m) * u.R + r) * u.S + s];
}
fn loadB(g: u32, k: u32, n: u32) -> f32 {
  let s = k % u.S; let t = k / u.S; let r = t % u.R; let kk = t / u.R;
  let w = n % u.W; let t2 = n / u.W; let h = t2 % u.H; let im = t2 / u.H;
  let ph = i32(h + u.pad) - i32(r); let qw = i32(w + u.pad) - i32(s);
  if (ph < 0 || qw < 0) { return 0.0; }
  if (u32(ph) % u.stride != 0u || u32(qw) % u.stride != 0u) { return 0.0; }
  let p = u32(ph) / u.stride; let q = u32(qw) / u.stride;
  if (p >= u.P || q >= u.Q) { return 0.0; }
  return dy[u.o_dy + ((im * u.K + g * u.Kg + kk) * u.P + p) * u.Q + q];
}
fn store(g: u32, m: u32, n: u32, v: f32) {
  let HW = u.H * u.W;
  dx[u.o_dx + ((n / HW) * u.C + g * u.Cg + m) * HW + n % HW] = v;
}`);

const DW = gemmKernel('conv2dBackwardDw', ['x:f32', 'dy:f32', 'dw:f32:rw'], GEOM, `${COL}
fn loadA(g: u32, m: u32, k: u32) -> f32 {
  let PQ = u.P * u.Q;
  return dy[u.o_dy + ((k / PQ) * u.K + g * u.Kg + m) * PQ + k % PQ];
}
fn loadB(g: u32, k: u32, n: u32) -> f32 { return col(g, n, k); }
fn store(g: u32, m: u32, n: u32, v: f32) {
  let i = u.o_dw + (g * u.Kg + m) * u.Cg * u.R * u.S + n;
  dw[i] = dw[i] + v;
}`);

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

const uni = (g: ConvGeom, a: Conv2dAttrs) => ({ ...g, stride: a.stride, pad: a.pad });

/** [first image, count] slices: each image's x (C*H*W) and y (K*P*Q) fit one binding, columns fit a dispatch. */
function slices(ctx: WgCtx, g: ConvGeom): [number, number][] {
  return chunks(ctx, g.N, Math.max(g.C * g.H * g.W, g.K * g.P * g.Q), Math.floor((65535 * 32) / Math.max(g.P * g.Q, g.H * g.W)));
}

export function conv2d(ctx: WgCtx, inp: OpInputs<'conv2d'>, a: Conv2dAttrs): OpOutputs<'conv2d'> {
  const op = 'conv2d';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), b = arg(op, 'b', inp.b, 1);
  const g = convGeometry(op, x.shape, w.shape, a);
  sameShape(op, 'b', b.shape, 'w.shape[0]', [g.K]);
  const y = ctx.alloc([g.N, g.K, g.P, g.Q]);
  const CHW = g.C * g.H * g.W, KPQ = g.K * g.P * g.Q;
  for (const [n0, nb] of slices(ctx, g)) {
    const GM = g.Kg, GN = nb * g.P * g.Q, GK = g.Cg * g.R * g.S;
    ctx.run(FWD, { x: { t: x, start: n0 * CHW, count: nb * CHW }, wt: w, bias: b, y: { t: y, start: n0 * KPQ, count: nb * KPQ } },
      { ...uni(g, a), GM, GN, GK }, gemmGrid(GM, GN, g.G));
  }
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
  const dx = a.needDx ? ctx.alloc(x.shape) : undefined;
  const CHW = g.C * g.H * g.W, KPQ = g.K * g.P * g.Q, CRS = g.Cg * g.R * g.S;
  for (const [n0, nb] of slices(ctx, g)) {
    const xs = { t: x, start: n0 * CHW, count: nb * CHW }, dys = { t: dy, start: n0 * KPQ, count: nb * KPQ };
    ctx.run(DW, { x: xs, dy: dys, dw }, { ...uni(g, a), GM: g.Kg, GN: CRS, GK: nb * g.P * g.Q }, gemmGrid(g.Kg, CRS, g.G));
    ctx.run(DB, { dy: dys, db }, { N: nb, K: g.K, PQ: g.P * g.Q }, { groups: g.K });
    if (dx) {
      const GN = nb * g.H * g.W;
      ctx.run(DX, { wt: w, dy: dys, dx: { t: dx, start: n0 * CHW, count: nb * CHW } }, { ...uni(g, a), GM: g.Cg, GN, GK: g.Kg * g.R * g.S }, gemmGrid(g.Cg, GN, g.G));
    }
  }
  return dx ? { dx } : {};
}
