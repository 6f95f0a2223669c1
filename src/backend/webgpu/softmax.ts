// x (N,K) -> y (N,K): row-wise softmax, max-subtracted. One 64-wide workgroup per row (max, then sum of exp).
import type { NoAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { REDUCE_HEAD, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg } from './tensor.ts';

/** WGSL: m = row max, s = sum exp(x - m) of row wi (x at xo, K wide); every thread of the workgroup calls it. */
export const ROW_STATS = `${REDUCE_HEAD}
fn rowStats(xo: u32, K: u32, li: u32) -> vec2f {
  var m = bitcast<f32>(0xff7fffffu); // -FLT_MAX
  for (var k = li; k < K; k += 64u) { m = max(m, x[xo + k]); }
  m = wgMax(m, li);
  var s = 0.0;
  for (var k = li; k < K; k += 64u) { s += exp(x[xo + k] - m); }
  return vec2f(m, wgSum(s, li));
}`;

const SOFTMAX: KernelSpec = {
  name: 'softmax', bufs: ['x:f32', 'y:f32:rw'], uni: ['N:u32', 'K:u32'], wg: 64, head: ROW_STATS,
  body: `if (wi >= u.N) { return; }
  let xo = u.o_x + wi * u.K;
  let ms = rowStats(xo, u.K, li);
  for (var k = li; k < u.K; k += 64u) { y[u.o_y + wi * u.K + k] = exp(x[xo + k] - ms.x) / ms.y; }`,
};

export function softmax(ctx: WgCtx, inp: OpInputs<'softmax'>, _a: NoAttrs): OpOutputs<'softmax'> {
  const x = arg('softmax', 'x', inp.x, 2);
  const [N, K] = x.shape;
  const y = ctx.alloc(x.shape);
  ctx.run(SOFTMAX, { x, y }, { N, K }, { groups: N });
  return { y };
}
