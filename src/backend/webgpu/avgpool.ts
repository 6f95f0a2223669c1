// x (N,C,H,W) -> y (N,C,outH,outW): mean over PyTorch's adaptive bins
// [floor(i*H/outH), ceil((i+1)*H/outH)); bins may overlap. One thread per output.
// backward: one thread per input element, summing dy / |bin| over every bin that contains it.
// Both run in slices of whole images that fit one binding.
import type { AdaptiveAvgPoolAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { checkAdaptiveAvgPool } from '../shapes.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, sameShape } from './tensor.ts';

const U = ['n:u32', 'H:u32', 'W:u32', 'OH:u32', 'OW:u32'];
const HEAD = `
fn lo(i: u32, n: u32, o: u32) -> u32 { return (i * n) / o; }
fn hi(i: u32, n: u32, o: u32) -> u32 { return ((i + 1u) * n + o - 1u) / o; }`;

const FWD: KernelSpec = {
  name: 'adaptiveAvgPool', bufs: ['x:f32', 'y:f32:rw'], uni: U, wg: 64, head: HEAD,
  body: `if (gi >= u.n) { return; }
  let j = gi % u.OW; let i = (gi / u.OW) % u.OH; let nc = gi / (u.OH * u.OW);
  let h0 = lo(i, u.H, u.OH); let h1 = hi(i, u.H, u.OH); let w0 = lo(j, u.W, u.OW); let w1 = hi(j, u.W, u.OW);
  let xo = u.o_x + nc * u.H * u.W;
  var s = 0.0;
  for (var h = h0; h < h1; h++) { for (var w = w0; w < w1; w++) { s += x[xo + h * u.W + w]; } }
  y[u.o_y + gi] = s / f32((h1 - h0) * (w1 - w0));`,
};

const BWD: KernelSpec = {
  name: 'adaptiveAvgPoolBackward', bufs: ['dy:f32', 'dx:f32:rw'], uni: U, wg: 64, head: HEAD,
  body: `if (gi >= u.n) { return; }
  let w = gi % u.W; let h = (gi / u.W) % u.H; let nc = gi / (u.H * u.W);
  let yo = u.o_dy + nc * u.OH * u.OW;
  var s = 0.0;
  for (var i = 0u; i < u.OH; i++) {
    let h0 = lo(i, u.H, u.OH); let h1 = hi(i, u.H, u.OH);
    if (h < h0 || h >= h1) { continue; }
    for (var j = 0u; j < u.OW; j++) {
      let w0 = lo(j, u.W, u.OW); let w1 = hi(j, u.W, u.OW);
      if (w < w0 || w >= w1) { continue; }
      s += dy[yo + i * u.OW + j] / f32((h1 - h0) * (w1 - w0));
    }
  }
  dx[u.o_dx + gi] = s;`,
};

export function adaptiveAvgPool(ctx: WgCtx, inp: OpInputs<'adaptiveAvgPool'>, a: AdaptiveAvgPoolAttrs): OpOutputs<'adaptiveAvgPool'> {
  const op = 'adaptiveAvgPool';
  checkAdaptiveAvgPool(op, a);
  const x = arg(op, 'x', inp.x, 4);
  const [N, C, H, W] = x.shape;
  const y = ctx.alloc([N, C, a.outH, a.outW]);
  const I = C * H * W, O = C * a.outH * a.outW;
  for (const [n0, nb] of chunks(ctx, N, Math.max(I, O))) {
    ctx.run(FWD, { x: { t: x, start: n0 * I, count: nb * I }, y: { t: y, start: n0 * O, count: nb * O } }, { n: nb * O, H, W, OH: a.outH, OW: a.outW }, { threads: nb * O });
  }
  return { y };
}

export function adaptiveAvgPoolBackward(ctx: WgCtx, inp: OpInputs<'adaptiveAvgPoolBackward'>, a: AdaptiveAvgPoolAttrs): OpOutputs<'adaptiveAvgPoolBackward'> {
  const op = 'adaptiveAvgPoolBackward';
  checkAdaptiveAvgPool(op, a);
  const x = arg(op, 'x', inp.x, 4), dy = arg(op, 'dy', inp.dy, 4);
  const [N, C, H, W] = x.shape;
  sameShape(op, 'dy', dy.shape, 'pool output', [N, C, a.outH, a.outW]);
  const dx = ctx.alloc(x.shape);
  const I = C * H * W, O = C * a.outH * a.outW;
  for (const [n0, nb] of chunks(ctx, N, Math.max(I, O))) {
    ctx.run(BWD, { dy: { t: dy, start: n0 * O, count: nb * O }, dx: { t: dx, start: n0 * I, count: nb * I } }, { n: nb * I, H, W, OH: a.outH, OW: a.outW }, { threads: nb * I });
  }
  return { dx };
}
