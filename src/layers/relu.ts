// ReLU. x (any shape) -> y (same). Backward needs only y: dx = dy * [y > 0].
import type { Backend, Tensor } from '../backend/backend.ts';
import type { Cache, Layer } from './layer.ts';

export type ReluCache = { y: Tensor };

const NO_ATTRS = {} as Record<string, never>;

export function reluForward(be: Backend, x: Tensor): { y: Tensor; cache: ReluCache } {
  const { y } = be.run('relu', { x }, NO_ATTRS);
  return { y, cache: { y } };
}

export function reluBackward(be: Backend, dy: Tensor, cache: ReluCache): Tensor {
  return be.run('reluBackward', { y: cache.y, dy }, NO_ATTRS).dx;
}

export class Relu implements Layer {
  readonly kind = 'relu';
  constructor(readonly name: string) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: Cache } {
    return reluForward(be, x);
  }
  backward(be: Backend, dy: Tensor, cache: Cache): Tensor {
    return reluBackward(be, dy, cache as unknown as ReluCache);
  }
}
