// Max pooling, floor mode. x (N,C,H,W) -> y (N,C,P,Q); argmax is the cache.
import type { Backend, PoolAttrs, Tensor } from '../backend/backend.ts';
import type { Cache, Layer } from './layer.ts';

export type MaxPoolCache = { x: Tensor; argmax: Tensor };

export function maxPoolForward(be: Backend, x: Tensor, attrs: PoolAttrs): { y: Tensor; cache: MaxPoolCache } {
  const { y, argmax } = be.run('maxPool', { x }, attrs);
  return { y, cache: { x, argmax } };
}

export function maxPoolBackward(be: Backend, dy: Tensor, cache: MaxPoolCache, attrs: PoolAttrs): Tensor {
  return be.run('maxPoolBackward', { x: cache.x, argmax: cache.argmax, dy }, attrs).dx;
}

export class MaxPool implements Layer {
  readonly kind = 'maxpool';
  constructor(readonly name: string, readonly attrs: PoolAttrs) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: Cache } {
    return maxPoolForward(be, x, this.attrs);
  }
  backward(be: Backend, dy: Tensor, cache: Cache): Tensor {
    return maxPoolBackward(be, dy, cache as unknown as MaxPoolCache, this.attrs);
  }
}
