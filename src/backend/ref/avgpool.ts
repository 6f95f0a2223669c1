// x (N,C,H,W) -> y (N,C,outH,outW): mean over PyTorch's adaptive bins
// [floor(i*H/outH), ceil((i+1)*H/outH)); bins may overlap (upsampling or non-divisible sizes).
// backward: dx[bin] += dy / |bin| for every bin.
import type { AdaptiveAvgPoolAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { arg, type RefCtx } from './tensor.ts';

const lo = (i: number, n: number, out: number) => Math.floor((i * n) / out);
const hi = (i: number, n: number, out: number) => Math.ceil(((i + 1) * n) / out);

export function adaptiveAvgPool(ctx: RefCtx, inp: OpInputs<'adaptiveAvgPool'>, a: AdaptiveAvgPoolAttrs): OpOutputs<'adaptiveAvgPool'> {
  const op = 'adaptiveAvgPool';
  const x = arg(op, 'x', inp.x, 4);
  const [N, C, H, W] = x.shape, { outH, outW } = a;
  const y = ctx.alloc([N, C, outH, outW]), X = x.f, Y = y.f;
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    for (let i = 0; i < outH; i++) {
      const h0 = lo(i, H, outH), h1 = hi(i, H, outH);
      for (let j = 0; j < outW; j++) {
        const w0 = lo(j, W, outW), w1 = hi(j, W, outW);
        let s = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += X[xo + h * W + w];
        Y[(nc * outH + i) * outW + j] = s / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return { y };
}

export function adaptiveAvgPoolBackward(ctx: RefCtx, inp: OpInputs<'adaptiveAvgPoolBackward'>, a: AdaptiveAvgPoolAttrs): OpOutputs<'adaptiveAvgPoolBackward'> {
  const op = 'adaptiveAvgPoolBackward';
  const x = arg(op, 'x', inp.x, 4), dy = arg(op, 'dy', inp.dy, 4);
  const [N, C, H, W] = x.shape, { outH, outW } = a;
  const dx = ctx.alloc(x.shape), DY = dy.f, DX = dx.f;
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    for (let i = 0; i < outH; i++) {
      const h0 = lo(i, H, outH), h1 = hi(i, H, outH);
      for (let j = 0; j < outW; j++) {
        const w0 = lo(j, W, outW), w1 = hi(j, W, outW);
        const g = DY[(nc * outH + i) * outW + j] / ((h1 - h0) * (w1 - w0));
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) DX[xo + h * W + w] += g;
      }
    }
  }
  return { dx };
}
