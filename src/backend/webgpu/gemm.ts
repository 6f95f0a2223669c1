// C (M,N) = A (M,K) B (K,N) [+ bias (N)] [+ C], any strides: A[m,k] = a[m*sam + k*sak],
// B[k,n] = b[k*sbk + n*sbn], C[m,n] = c[m*scm + n*scn], so one kernel serves x w^T, dy^T x and dy w.
// 16x16 output tile per workgroup, one output per thread, K staged through workgroup memory 16 at a time.
import type { Bind, KernelSpec, WgCtx } from './kernel.ts';

const T = 16;

const GEMM: KernelSpec = {
  name: 'gemm', bufs: ['a:f32', 'b:f32', 'bias:f32', 'c:f32:rw'],
  uni: ['M:u32', 'N:u32', 'K:u32', 'sam:u32', 'sak:u32', 'sbk:u32', 'sbn:u32', 'scm:u32', 'scn:u32', 'hasBias:u32', 'acc:u32'],
  wg: [T, T],
  head: `var<workgroup> As: array<array<f32, ${T}>, ${T}>;
var<workgroup> Bs: array<array<f32, ${T}>, ${T}>;`,
  body: `let n = wid.x * ${T}u + lid.x; let m = wid.y * ${T}u + lid.y;
  var acc = 0.0;
  for (var t = 0u; t < u.K; t += ${T}u) {
    let ka = t + lid.x;
    var av = 0.0;
    if (m < u.M && ka < u.K) { av = a[u.o_a + m * u.sam + ka * u.sak]; }
    As[lid.y][lid.x] = av;
    let kb = t + lid.y;
    var bv = 0.0;
    if (kb < u.K && n < u.N) { bv = b[u.o_b + kb * u.sbk + n * u.sbn]; }
    Bs[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var kk = 0u; kk < ${T}u; kk++) { acc += As[lid.y][kk] * Bs[kk][lid.x]; }
    workgroupBarrier();
  }
  if (m < u.M && n < u.N) {
    let ci = u.o_c + m * u.scm + n * u.scn;
    var v = acc;
    if (u.hasBias == 1u) { v += bias[u.o_bias + n]; }
    if (u.acc == 1u) { v += c[ci]; }
    c[ci] = v;
  }`,
};

export interface GemmArgs {
  a: Bind; b: Bind; c: Bind; bias?: Bind;
  M: number; N: number; K: number;
  sam: number; sak: number; sbk: number; sbn: number; scm: number; scn: number;
  accumulate: boolean;
}

export function gemm(ctx: WgCtx, g: GemmArgs): void {
  const { a, b, c, bias, accumulate, ...dims } = g;
  ctx.run(GEMM, { a, b, c, bias: bias ?? a }, { ...dims, hasBias: bias ? 1 : 0, acc: accumulate ? 1 : 0 },
    { wg2: [Math.ceil(g.N / T), Math.ceil(g.M / T)] });
}
