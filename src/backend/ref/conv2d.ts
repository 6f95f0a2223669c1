// x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q); P = (H+2pad-R)/stride+1 (floor).
// Per image and group: col = im2col(x) (C/g*R*S, P*Q); y_g = w_g col (gemm);
// backward: dw_g += dy_g col^T, db += sum dy, dcol = w_g^T dy_g, dx = col2im(dcol).
import { type OpInputs, type OpOutputs, type Conv2dAttrs, type Conv2dBackwardAttrs } from '../backend.ts';
import { convGeometry, type ConvGeom } from '../shapes.ts';
import { gemm } from './gemm.ts';
import { arg, type FArr, type RefCtx } from './tensor.ts';

/** col[(c*R+r)*S+s, p*Q+q] = x[c0+c, p*stride-pad+r, q*stride-pad+s] (0 outside). */
function im2col(x: FArr, xo: number, g: ConvGeom, c0: number, a: Conv2dAttrs, col: FArr): void {
  const { H, W, R, S, P, Q, Cg } = g, { stride, pad } = a;
  let o = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xo + (c0 + c) * H * W;
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++) {
        for (let p = 0; p < P; p++) {
          const h = p * stride - pad + r;
          if (h < 0 || h >= H) { col.fill(0, o, o + Q); o += Q; continue; }
          const xr = xc + h * W;
          for (let q = 0; q < Q; q++) {
            const w = q * stride - pad + s;
            col[o++] = w >= 0 && w < W ? x[xr + w] : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[...] += dcol[...]. */
function col2im(dcol: FArr, g: ConvGeom, c0: number, a: Conv2dAttrs, dx: FArr, xo: number): void {
  const { H, W, R, S, P, Q, Cg } = g, { stride, pad } = a;
  let o = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xo + (c0 + c) * H * W;
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++) {
        for (let p = 0; p < P; p++) {
          const h = p * stride - pad + r;
          if (h < 0 || h >= H) { o += Q; continue; }
          const xr = xc + h * W;
          for (let q = 0; q < Q; q++, o++) {
            const w = q * stride - pad + s;
            if (w >= 0 && w < W) dx[xr + w] += dcol[o];
          }
        }
      }
    }
  }
}

export function conv2d(ctx: RefCtx, inp: OpInputs<'conv2d'>, a: Conv2dAttrs): OpOutputs<'conv2d'> {
  const op = 'conv2d';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), b = arg(op, 'b', inp.b, 1);
  const g = convGeometry(op, x.shape, w.shape, a);
  const y = ctx.alloc([g.N, g.K, g.P, g.Q]);
  const PQ = g.P * g.Q, CRS = g.Cg * g.R * g.S;
  const col = ctx.scratch(CRS * PQ), X = x.f, Wd = w.f, B = b.f, Y = y.f;
  for (let n = 0; n < g.N; n++) {
    for (let gi = 0; gi < g.G; gi++) {
      im2col(X, n * g.C * g.H * g.W, g, gi * g.Cg, a, col);
      const yo = (n * g.K + gi * g.Kg) * PQ;
      gemm('N', 'N', g.Kg, PQ, CRS, Wd.subarray(gi * g.Kg * CRS, (gi + 1) * g.Kg * CRS), col, Y.subarray(yo, yo + g.Kg * PQ), false);
    }
    for (let k = 0; k < g.K; k++) {
      const yo = (n * g.K + k) * PQ, bk = B[k];
      for (let i = 0; i < PQ; i++) Y[yo + i] += bk;
    }
  }
  return { y };
}

export function conv2dBackward(ctx: RefCtx, inp: OpInputs<'conv2dBackward'>, a: Conv2dBackwardAttrs): OpOutputs<'conv2dBackward'> {
  const op = 'conv2dBackward';
  const x = arg(op, 'x', inp.x, 4), w = arg(op, 'w', inp.w, 4), dy = arg(op, 'dy', inp.dy, 4);
  const dw = arg(op, 'dw', inp.dw, 4), db = arg(op, 'db', inp.db, 1);
  const g = convGeometry(op, x.shape, w.shape, a);
  const dx = a.needDx ? ctx.alloc(x.shape) : undefined;
  const PQ = g.P * g.Q, CRS = g.Cg * g.R * g.S, CHW = g.C * g.H * g.W;
  const col = ctx.scratch(CRS * PQ, 0), dcol = a.needDx ? ctx.scratch(CRS * PQ, 1) : undefined;
  const X = x.f, Wd = w.f, DY = dy.f, DW = dw.f, DB = db.f;
  for (let n = 0; n < g.N; n++) {
    for (let gi = 0; gi < g.G; gi++) {
      const yo = (n * g.K + gi * g.Kg) * PQ, dyg = DY.subarray(yo, yo + g.Kg * PQ);
      const wo = gi * g.Kg * CRS;
      im2col(X, n * CHW, g, gi * g.Cg, a, col);
      gemm('N', 'T', g.Kg, CRS, PQ, dyg, col, DW.subarray(wo, wo + g.Kg * CRS), true);
      if (dx && dcol) {
        gemm('T', 'N', CRS, PQ, g.Kg, Wd.subarray(wo, wo + g.Kg * CRS), dyg, dcol, false);
        col2im(dcol, g, gi * g.Cg, a, dx.f, n * CHW);
      }
    }
    for (let k = 0; k < g.K; k++) {
      const yo = (n * g.K + k) * PQ;
      let s = 0;
      for (let i = 0; i < PQ; i++) s += DY[yo + i];
      DB[k] += s;
    }
  }
  return dx ? { dx } : {};
}
