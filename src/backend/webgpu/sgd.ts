// w, dw, v: flat tensors of equal size, updated in place (the paper's momentum SGD):
// v <- momentum*v - weightDecay*r*w - r*dw; w <- w + v, r = lr. One thread per element, in pieces that fit one binding.
// trust > 0 (LARS, r = lr * trust * |w| / (|dw| + weightDecay*|w|), lr where a norm is 0; ref/sgd.ts trustRate):
// SQNORMS sums w^2 and dw^2 per workgroup into partials (f32, strided over a piece), RATE adds the partials and
// writes r into a one-element buffer, and SGD_RATE reads r from there, so nothing waits for the host.
import type { OpInputs, OpOutputs, SgdAttrs } from '../backend.ts';
import { chunks, REDUCE_HEAD, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg } from './tensor.ts';

const UPDATE = `let wv = w[u.o_w + gi];
  let vi = u.m * v[u.o_v + gi] - u.wd * lr * wv - lr * dw[u.o_dw + gi];
  v[u.o_v + gi] = vi;
  w[u.o_w + gi] = wv + vi;`;

const SGD: KernelSpec = {
  name: 'sgd', bufs: ['w:f32:rw', 'dw:f32', 'v:f32:rw'], uni: ['n:u32', 'lr:f32', 'm:f32', 'wd:f32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  let lr = u.lr;
  ${UPDATE}`,
};

/** At most this many workgroups per piece for the norms: enough threads to keep the GPU busy, few partials to add. */
const GROUPS = 256;

const SQNORMS: KernelSpec = {
  name: 'sgdSqNorms', bufs: ['w:f32', 'dw:f32', 'part:f32:rw'], uni: ['n:u32', 'slot:u32', 'stride:u32'], wg: 64, head: REDUCE_HEAD,
  body: `var sw = 0.0;
  var sg = 0.0;
  for (var i = gi; i < u.n; i += u.stride) {
    let a = w[u.o_w + i];
    let b = dw[u.o_dw + i];
    sw += a * a;
    sg += b * b;
  }
  let tw = wgSum(sw, li);
  let tg = wgSum(sg, li);
  if (li == 0u) { part[u.o_part + 2u * (u.slot + wi)] = tw; part[u.o_part + 2u * (u.slot + wi) + 1u] = tg; }`,
};

const RATE: KernelSpec = {
  name: 'sgdRate', bufs: ['part:f32', 'rate:f32:rw'], uni: ['parts:u32', 'lr:f32', 'trust:f32', 'wd:f32'], wg: 64, head: REDUCE_HEAD,
  body: `var sw = 0.0;
  var sg = 0.0;
  for (var i = li; i < u.parts; i += 64u) { sw += part[u.o_part + 2u * i]; sg += part[u.o_part + 2u * i + 1u]; }
  let tw = wgSum(sw, li);
  let tg = wgSum(sg, li);
  if (li == 0u) {
    var r = u.lr;
    if (tw > 0.0 && tg > 0.0) { r = u.lr * u.trust * sqrt(tw) / (sqrt(tg) + u.wd * sqrt(tw)); }
    rate[u.o_rate] = r;
  }`,
};

const SGD_RATE: KernelSpec = {
  name: 'sgdAtRate', bufs: ['w:f32:rw', 'dw:f32', 'v:f32:rw', 'rate:f32'], uni: ['n:u32', 'm:f32', 'wd:f32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  let lr = rate[u.o_rate];
  ${UPDATE}`,
};

export function sgd(ctx: WgCtx, inp: OpInputs<'sgd'>, a: SgdAttrs): OpOutputs<'sgd'> {
  const op = 'sgd';
  // sizes and finite attributes: checked by the registry (ops.ts) before any backend runs the op
  const w = arg(op, 'w', inp.w), dw = arg(op, 'dw', inp.dw), v = arg(op, 'v', inp.v);
  const pieces = chunks(ctx, w.size);
  if (!((a.trust ?? 0) > 0)) {
    for (const [start, count] of pieces) {
      ctx.run(SGD, { w: { t: w, start, count }, dw: { t: dw, start, count }, v: { t: v, start, count } },
        { n: count, lr: a.lr, m: a.momentum, wd: a.weightDecay }, { threads: count });
    }
    return {};
  }
  const groups = pieces.map(([, count]) => Math.max(1, Math.min(GROUPS, Math.ceil(count / 64))));
  const parts = groups.reduce((s, g) => s + g, 0);
  const part = ctx.alloc([2 * parts]), rate = ctx.alloc([1]);
  let slot = 0;
  pieces.forEach(([start, count], p) => {
    ctx.run(SQNORMS, { w: { t: w, start, count }, dw: { t: dw, start, count }, part }, { n: count, slot, stride: groups[p] * 64 }, { groups: groups[p] });
    slot += groups[p];
  });
  ctx.run(RATE, { part, rate }, { parts, lr: a.lr, trust: a.trust!, wd: a.weightDecay }, { groups: 1 });
  for (const [start, count] of pieces) {
    ctx.run(SGD_RATE, { w: { t: w, start, count }, dw: { t: dw, start, count }, v: { t: v, start, count }, rate },
      { n: count, m: a.momentum, wd: a.weightDecay }, { threads: count });
  }
  ctx.release(part);
  ctx.release(rate);
  return {};
}
