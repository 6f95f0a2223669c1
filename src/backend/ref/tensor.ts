// RefTensor: a plain typed array plus shape. f32 tensors store Float32Array (or Float64Array in the
// f64 gradcheck mode); i32 tensors store Int32Array. Views share memory through subarray.
import { sizeOf, type DType, type Tensor } from '../backend.ts';
import { checkArg } from '../shapes.ts';

export { shapeStr } from '../shapes.ts';

export type FArr = Float32Array | Float64Array;
export type Store = FArr | Int32Array;

export class RefTensor implements Tensor {
  readonly backendName = 'ref';
  readonly size: number;
  freed = false;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly data: Store,
    /** The tensor whose memory a view shares (undefined for owners). */
    readonly base?: RefTensor,
  ) {
    this.size = sizeOf(shape);
    if (data.length !== this.size) throw new Error(`RefTensor: data length ${data.length} != size ${this.size} of [${shape}]`);
  }
  /** Float data (f32/f64 store); throws for i32 tensors. */
  get f(): FArr {
    if (this.dtype !== 'f32') throw new Error(`expected an f32 tensor, got ${this.dtype}`);
    return this.data as FArr;
  }
  /** Int data; throws for f32 tensors. */
  get i(): Int32Array {
    if (this.dtype !== 'i32') throw new Error(`expected an i32 tensor, got ${this.dtype}`);
    return this.data as Int32Array;
  }
}

/** What kernels need from the backend: allocation in the backend's float precision. */
export interface RefCtx {
  readonly f64: boolean;
  alloc(shape: readonly number[], dtype?: DType): RefTensor;
  /** Scratch float array in the backend's precision, reused across calls; distinct slots never alias. */
  scratch(n: number, slot?: number): FArr;
}

/** Checks that t is a live ref tensor of the given dtype and rank; returns it typed. */
export function arg(op: string, name: string, t: Tensor | undefined, rank?: number, dtype: DType = 'f32'): RefTensor {
  return checkArg(RefTensor, 'ref', op, name, t, rank, dtype);
}

