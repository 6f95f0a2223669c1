// The tiled matrix-product kernel every heavy op runs on: per group g (workgroup z),
//   C (GM,GN) = A (GM,GK) B (GK,GN), with A, B and the store given as WGSL functions
//   loadA(g, m, k), loadB(g, k, n), store(g, m, n, v).
// linear's three products use strided loaders (below); conv2d (forward, dx, dw) uses im2col-style
// loaders that compute the input pixel of each (k, n) on the fly (implicit GEMM, no col buffer).
// Tile: 32x32 outputs per 64-thread workgroup, 4x4 per thread, K staged through workgroup memory 16 at a
// time. On SwiftShader this is ~50x faster than one thread per output with a direct loop (a 3x3 conv of
// 8x15x15 maps: 17 ms direct; branches inside the loop run on every SIMD lane), and it is the form the
// 1-3 GFLOP/s tiled WGSL matmul measurements on software adapters used.
import { REDUCE_HEAD, type Bind, type KernelSpec, type WgCtx } from './kernel.ts';

const TM = 32, TN = 32, TK = 16;

/** A KernelSpec computing C = A B per group with the given loaders; uniforms GM, GN, GK are added. */
export function gemmKernel(name: string, bufs: readonly string[], uni: readonly string[], loaders: string): KernelSpec {
  return {
    name, bufs, uni: ['GM:u32', 'GN:u32', 'GK:u32', ...uni], wg: [8, 8],
    head: `var<workgroup> As: array<f32, ${TK * TM}>; // [k][m]
var<workgroup> Bs: array<f32, ${TK * TN}>; // [k][n]
${loaders}`,
    body: `let g = wid.z; let m0 = wid.y * ${TM}u; let n0 = wid.x * ${TN}u;
  let tid = lid.y * 8u + lid.x;
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < u.GK; k0 += ${TK}u) {
    for (var i = 0u; i < ${(TK * TM) / 64}u; i++) {
      let e = tid + i * 64u;
      let kk = e / ${TM}u; let mm = e % ${TM}u;
      let k = k0 + kk;
      var av = 0.0;
      if (m0 + mm < u.GM && k < u.GK) { av = loadA(g, m0 + mm, k); }
      As[e] = av;
      var bv = 0.0;
      if (n0 + mm < u.GN && k < u.GK) { bv = loadB(g, k, n0 + mm); }
      Bs[e] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      let ao = kk * ${TM}u + lid.y * 4u; let bo = kk * ${TN}u + lid.x * 4u;
      let b = vec4f(Bs[bo], Bs[bo + 1u], Bs[bo + 2u], Bs[bo + 3u]);
      acc0 += As[ao] * b; acc1 += As[ao + 1u] * b; acc2 += As[ao + 2u] * b; acc3 += As[ao + 3u] * b;
    }
    workgroupBarrier();
  }
  let mb = m0 + lid.y * 4u; let nb = n0 + lid.x * 4u;
  for (var j = 0u; j < 4u; j++) {
    let n = nb + j;
    if (n >= u.GN) { break; }
    if (mb < u.GM) { store(g, mb, n, acc0[j]); }
    if (mb + 1u < u.GM) { store(g, mb + 1u, n, acc1[j]); }
    if (mb + 2u < u.GM) { store(g, mb + 2u, n, acc2[j]); }
    if (mb + 3u < u.GM) { store(g, mb + 3u, n, acc3[j]); }
  }`,
  };
}

/** Workgroups for a (GM, GN) product over `groups` groups. */
export function gemmGrid(GM: number, GN: number, groups = 1): { wg3: [number, number, number] } {
  return { wg3: [Math.ceil(GN / TN), Math.ceil(GM / TM), groups] };
}

// C[m,n] = sum_k a[m*sam + k*sak] b[k*sbk + n*sbn] (+ bias[n]) (+ C[m,n]), C at c[m*scm + n*scn].
const STRIDED = gemmKernel('gemm', ['a:f32', 'b:f32', 'bias:f32', 'c:f32:rw'],
  ['sam:u32', 'sak:u32', 'sbk:u32', 'sbn:u32', 'scm:u32', 'scn:u32', 'hasBias:u32', 'acc:u32'], `
fn loadA(g: u32, m: u32, k: u32) -> f32 { return a[u.o_a + m * u.sam + k * u.sak]; }
fn loadB(g: u32, k: u32, n: u32) -> f32 { return b[u.o_b + k * u.sbk + n * u.sbn]; }
fn store(g: u32, m: u32, n: u32, v: f32) {
  let ci = u.o_c + m * u.scm + n * u.scn;
  var r = v;
  if (u.hasBias == 1u) { r += bias[u.o_bias + n]; }
  if (u.acc == 1u) { r += c[ci]; }
  c[ci] = r;
}`);

// The same product for a few rows (batch-1..4 linear layers): a 32x32 tile would leave 31 of its 32 rows
// empty, so each 64-wide workgroup instead owns one output column n and reduces over K.
const GEMV_MAX_M = 4;
const GEMV: KernelSpec = {
  name: 'gemv', bufs: STRIDED.bufs, uni: STRIDED.uni, wg: 64,
  head: `${REDUCE_HEAD}
fn store(m: u32, n: u32, v: f32) {
  let ci = u.o_c + m * u.scm + n * u.scn;
  var r = v;
  if (u.hasBias == 1u) { r += bias[u.o_bias + n]; }
  if (u.acc == 1u) { r += c[ci]; }
  c[ci] = r;
}`,
  body: `if (wi >= u.GN) { return; }
  for (var m = 0u; m < u.GM; m++) {
    var acc = 0.0;
    for (var k = li; k < u.GK; k += 64u) { acc += a[u.o_a + m * u.sam + k * u.sak] * b[u.o_b + k * u.sbk + wi * u.sbn]; }
    let tot = wgSum(acc, li);
    if (li == 0u) { store(m, wi, tot); }
  }`,
};

export interface GemmArgs {
  a: Bind; b: Bind; c: Bind; bias?: Bind;
  M: number; N: number; K: number;
  sam: number; sak: number; sbk: number; sbn: number; scm: number; scn: number;
  accumulate: boolean;
}

export function gemm(ctx: WgCtx, g: GemmArgs): void {
  const { a, b, c, bias, accumulate, M, N, K, ...strides } = g;
  const u = { ...strides, GM: M, GN: N, GK: K, hasBias: bias ? 1 : 0, acc: accumulate ? 1 : 0 };
  if (M <= GEMV_MAX_M) ctx.run(GEMV, { a, b, c, bias: bias ?? a }, u, { groups: N });
  else ctx.run(STRIDED, { a, b, c, bias: bias ?? a }, u, gemmGrid(M, N));
}
