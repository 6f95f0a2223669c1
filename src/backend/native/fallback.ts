// Runs an op the native kernels do not support on a ref backend: read the inputs (blocking), upload them
// to ref, run there, and bring outputs (and in-place updated inputs) back. Slow but models never break.
import type { Backend, OpAttrs, OpInputs, OpName, OpOutputs, Tensor } from '../backend.ts';
import { createRefBackend } from '../ref/index.ts';
import { NativeTensor } from './tensor.ts';

/** Inputs an op updates in place (they must be written back after the ref run). */
const IN_PLACE: Partial<Record<OpName, string[]>> = {
  conv2dBackward: ['dw', 'db'], linearBackward: ['dw', 'db'], fill: ['x'], sgd: ['w', 'v'],
};

export interface FallbackHost {
  readSync(t: Tensor): Float32Array | Int32Array;
  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor;
  write(t: NativeTensor, data: Float32Array | Int32Array): void;
}

let refBackend: Backend | undefined;

export function runOnRef<K extends OpName>(host: FallbackHost, op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K> {
  refBackend ??= createRefBackend();
  const ref = refBackend;
  const refIn: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(inputs as Record<string, Tensor>)) {
    if (t !== undefined) refIn[k] = ref.upload(host.readSync(t), t.shape);
  }
  const refOut = ref.run(op, refIn as OpInputs<K>, attrs) as Record<string, Tensor | undefined>;
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(refOut)) {
    if (t === undefined) continue;
    out[k] = host.upload(ref.readSync(t), t.shape);
    ref.free(t);
  }
  for (const k of IN_PLACE[op] ?? []) {
    const dst = (inputs as Record<string, Tensor>)[k];
    if (dst instanceof NativeTensor) host.write(dst, ref.readSync(refIn[k]));
  }
  ref.free(...Object.values(refIn));
  return out as OpOutputs<K>;
}
