// Shape and attribute checks shared by every backend, so a bad call gets the same ShapeError
// from ref and native. Kernels stay in the backend folders; only validation lives here.
import { ShapeError, outSize, type Conv2dAttrs, type AdaptiveAvgPoolAttrs, type DropoutAttrs, type DType, type Tensor } from './backend.ts';

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(',')}]`;
}

/** Throws ShapeError unless shape a equals b. */
export function sameShape(op: string, aName: string, a: readonly number[], bName: string, b: readonly number[]): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ShapeError(op, `${aName} ${shapeStr(a)} does not match ${bName} ${shapeStr(b)}`);
  }
}

export function positiveInt(op: string, name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new ShapeError(op, `${name} must be an integer >= ${min}, got ${v}`);
}

/** Checks that t is a live tensor of backend class `cls` with the given dtype and rank; returns it typed. */
export function checkArg<T extends Tensor & { freed: boolean }>(
  cls: abstract new (...args: never[]) => T, backend: string,
  op: string, name: string, t: Tensor | undefined, rank?: number, dtype: DType = 'f32',
): T {
  if (t === undefined || t === null) throw new ShapeError(op, `missing input ${name}`);
  if (!(t instanceof cls)) throw new ShapeError(op, `${name} belongs to backend '${t.backendName}', not '${backend}'`);
  if (t.freed) throw new ShapeError(op, `${name} was freed`);
  if (t.dtype !== dtype) throw new ShapeError(op, `${name} must be ${dtype}, got ${t.dtype}`);
  if (rank !== undefined && t.shape.length !== rank) {
    throw new ShapeError(op, `${name} must have rank ${rank}, got shape ${shapeStr(t.shape)}`);
  }
  return t;
}

// x (N,C,H,W), w (K,C/groups,R,S) -> y (N,K,P,Q)
export interface ConvGeom { N: number; C: number; H: number; W: number; K: number; R: number; S: number; P: number; Q: number; G: number; Cg: number; Kg: number }

export function convGeometry(op: string, xs: readonly number[], ws: readonly number[], a: Conv2dAttrs): ConvGeom {
  positiveInt(op, 'stride', a.stride);
  positiveInt(op, 'pad', a.pad, 0);
  positiveInt(op, 'groups', a.groups);
  const [N, C, H, W] = xs, [K, Cw, R, S] = ws, G = a.groups;
  if (C % G !== 0) throw new ShapeError(op, `input channels ${C} not divisible by groups ${G}`);
  if (K % G !== 0) throw new ShapeError(op, `output channels ${K} not divisible by groups ${G}`);
  if (Cw !== C / G) throw new ShapeError(op, `w ${shapeStr(ws)} expects ${Cw * G} input channels with groups ${G}, x ${shapeStr(xs)} has ${C}`);
  const P = outSize(H, R, a.stride, a.pad), Q = outSize(W, S, a.stride, a.pad);
  if (P < 1 || Q < 1) throw new ShapeError(op, `kernel ${R}x${S} larger than padded input ${H}x${W} (pad ${a.pad})`);
  return { N, C, H, W, K, R, S, P, Q, G, Cg: C / G, Kg: K / G };
}

export function checkAdaptiveAvgPool(op: string, a: AdaptiveAvgPoolAttrs): void {
  positiveInt(op, 'outH', a.outH);
  positiveInt(op, 'outW', a.outW);
}

export function checkDropout(op: string, a: DropoutAttrs): void {
  if (!(a.p >= 0 && a.p <= 1)) throw new ShapeError(op, `p must be in [0, 1], got ${a.p}`);
  if (!Number.isInteger(a.seed)) throw new ShapeError(op, `seed must be an integer, got ${a.seed}`);
}
