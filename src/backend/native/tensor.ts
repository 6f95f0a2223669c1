// NativeTensor: a handle (id) into the C++ engine's tensor table plus its logical NCHW shape.
// The data lives in native memory in whatever layout the producing primitive chose.
import { ShapeError, sizeOf, type DType, type Tensor } from '../backend.ts';

export class NativeTensor implements Tensor {
  readonly backendName = 'native';
  readonly size: number;
  freed = false;
  constructor(readonly id: number, readonly shape: readonly number[], readonly dtype: DType, readonly base?: NativeTensor) {
    this.size = sizeOf(shape);
  }
}

/** What the op files need from the backend: new output handles and the queue. */
export interface NativeCtx {
  out(shape: readonly number[], dtype?: DType): NativeTensor;
  enqueue(op: string, inputs: NativeTensor[], outputs: NativeTensor[], attrs: number[]): void;
}

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(',')}]`;
}

/** Checks that t is a live native tensor of the given dtype and rank; returns it typed. */
export function arg(op: string, name: string, t: Tensor | undefined, rank?: number, dtype: DType = 'f32'): NativeTensor {
  if (t === undefined || t === null) throw new ShapeError(op, `missing input ${name}`);
  if (!(t instanceof NativeTensor)) throw new ShapeError(op, `${name} belongs to backend '${t.backendName}', not 'native'`);
  if (t.freed) throw new ShapeError(op, `${name} was freed`);
  if (t.dtype !== dtype) throw new ShapeError(op, `${name} must be ${dtype}, got ${t.dtype}`);
  if (rank !== undefined && t.shape.length !== rank) throw new ShapeError(op, `${name} must have rank ${rank}, got shape ${shapeStr(t.shape)}`);
  return t;
}

export function sameShape(op: string, aName: string, a: readonly number[], bName: string, b: readonly number[]): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ShapeError(op, `${aName} ${shapeStr(a)} does not match ${bName} ${shapeStr(b)}`);
  }
}

export function positiveInt(op: string, name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new ShapeError(op, `${name} must be an integer >= ${min}, got ${v}`);
}
