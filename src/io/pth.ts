// torchvision .pth import (in progress).
import type { StateDict } from '../model/types.ts';
import { WeightsFormatError } from './safetensors.ts';

export function readPth(_bytes: Uint8Array, what: string): StateDict {
  throw new WeightsFormatError(`${what}: .pth import is not implemented yet`);
}
