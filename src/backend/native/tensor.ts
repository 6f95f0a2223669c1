// NativeTensor: a handle (id) into the C++ engine's tensor table plus its logical NCHW shape.
// The data lives in native memory in whatever layout the producing primitive chose.
import { sizeOf, type DType, type Tensor } from '../backend.ts';
import { checkArg } from '../shapes.ts';

export { shapeStr } from '../shapes.ts';

export class NativeTensor implements Tensor {
  readonly backendName = 'native';
  readonly size: number;
  freed = false;
  constructor(readonly id: number, readonly shape: readonly number[], readonly dtype: DType, readonly base?: NativeTensor) {
    this.size = sizeOf(shape);
  }
}

/** Checks that t is a live native tensor of the given dtype and rank; returns it typed. */
export function arg(op: string, name: string, t: Tensor | undefined, rank?: number, dtype: DType = 'f32'): NativeTensor {
  return checkArg(NativeTensor, 'native', op, name, t, rank, dtype);
}

