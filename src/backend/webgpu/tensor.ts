/// <reference types="@webgpu/types" />
// WebGpuTensor: a window of elements [offset, offset + size) of one GPU buffer (its Storage) plus the
// logical row-major NCHW shape. Views share their base's Storage; the buffer is destroyed when the last
// tensor on it is freed (views keep their base alive, as the contract asks).
import { sizeOf, type DType, type Tensor } from '../backend.ts';
import { checkArg } from '../shapes.ts';

export { shapeStr, sameShape, positiveInt } from '../shapes.ts';

/** One GPU buffer and how many live tensors use it. */
export interface Storage { buffer: GPUBuffer; refs: number; bytes: number }

export class WebGpuTensor implements Tensor {
  readonly backendName = 'webgpu';
  readonly size: number;
  freed = false;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly storage: Storage,
    /** First element inside the storage buffer (views of an arena start past 0). */
    readonly offset: number,
  ) {
    this.size = sizeOf(shape);
  }
}

/** Checks that t is a live webgpu tensor of the given dtype and rank; returns it typed. */
export function arg(op: string, name: string, t: Tensor | undefined, rank?: number, dtype: DType = 'f32'): WebGpuTensor {
  return checkArg(WebGpuTensor, 'webgpu', op, name, t, rank, dtype);
}
