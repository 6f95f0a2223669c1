// ONNX import/export (in progress).
import type { StateDict, WeightsMeta } from '../model/types.ts';
import { WeightsFormatError } from './safetensors.ts';

export function importOnnx(_bytes: Uint8Array, what = 'onnx'): { sd: StateDict; meta: Partial<WeightsMeta> } {
  throw new WeightsFormatError(`${what}: ONNX import is not implemented yet`);
}
