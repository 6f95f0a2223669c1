// x (N,C,H,W) -> y (N,C,H,W), scale (N,C,H,W).
// scale_c = k + a' * sum_{j in win(c)} x_j^2, y_c = x_c * scale_c^-beta,
// a' = alpha ('paper') or alpha/size ('pytorch'); win(c) = [c-lo, c+hi] clipped, lo = floor((size-1)/2), hi = ceil((size-1)/2).
// (For even sizes PyTorch's window is [c - size/2, c + size/2 - 1]; backend.ts fixes this one. Odd sizes agree.)
// backward: dx_c = dy_c scale_c^-beta - 2 a' beta x_c * sum_{j : c in win(j)} dy_j y_j / scale_j.
// Attributes and shapes were validated by the registry (ops.ts) before the kernel runs.
import type { LrnAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { arg, type RefCtx } from './tensor.ts';

function window(a: LrnAttrs): { ap: number; lo: number; hi: number } {
  const ap = a.convention === 'paper' ? a.alpha : a.alpha / a.size;
  return { ap, lo: Math.floor((a.size - 1) / 2), hi: Math.ceil((a.size - 1) / 2) };
}

export function lrn(ctx: RefCtx, inp: OpInputs<'lrn'>, a: LrnAttrs): OpOutputs<'lrn'> {
  const op = 'lrn';
  const { ap, lo, hi } = window(a);
  const x = arg(op, 'x', inp.x, 4);
  const [N, C, H, W] = x.shape, HW = H * W;
  const y = ctx.alloc(x.shape), scale = ctx.alloc(x.shape);
  const X = x.f, Y = y.f, SC = scale.f;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * HW;
      SC.fill(0, o, o + HW);
      for (let j = Math.max(0, c - lo); j <= Math.min(C - 1, c + hi); j++) {
        const xo = (n * C + j) * HW;
        for (let i = 0; i < HW; i++) SC[o + i] += X[xo + i] * X[xo + i];
      }
      for (let i = 0; i < HW; i++) {
        const s = a.k + ap * SC[o + i];
        SC[o + i] = s;
        Y[o + i] = X[o + i] * Math.pow(s, -a.beta);
      }
    }
  }
  return { y, scale };
}

export function lrnBackward(ctx: RefCtx, inp: OpInputs<'lrnBackward'>, a: LrnAttrs): OpOutputs<'lrnBackward'> {
  const op = 'lrnBackward';
  const { ap, lo, hi } = window(a);
  const x = arg(op, 'x', inp.x, 4), y = arg(op, 'y', inp.y, 4), scale = arg(op, 'scale', inp.scale, 4), dy = arg(op, 'dy', inp.dy, 4);
  const [N, C, H, W] = x.shape, HW = H * W;
  const dx = ctx.alloc(x.shape), X = x.f, Y = y.f, SC = scale.f, DY = dy.f, DX = dx.f;
  const t = ctx.scratch(C * HW); // t_j = dy_j y_j / scale_j for one image
  const f = -2 * ap * a.beta;
  for (let n = 0; n < N; n++) {
    const base = n * C * HW;
    for (let i = 0; i < C * HW; i++) t[i] = DY[base + i] * Y[base + i] / SC[base + i];
    for (let c = 0; c < C; c++) {
      const o = base + c * HW;
      for (let i = 0; i < HW; i++) DX[o + i] = 0;
      // j such that c in win(j): c - hi <= j <= c + lo
      for (let j = Math.max(0, c - hi); j <= Math.min(C - 1, c + lo); j++) {
        const to = j * HW;
        for (let i = 0; i < HW; i++) DX[o + i] += t[to + i];
      }
      for (let i = 0; i < HW; i++) DX[o + i] = DY[o + i] * Math.pow(SC[o + i], -a.beta) + f * X[o + i] * DX[o + i];
    }
  }
  return { dx };
}
