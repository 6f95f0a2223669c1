// Max pooling, floor mode. x (N,C,H,W) -> y (N,C,P,Q); argmax is the cache.
import type { Backend, PoolAttrs, Tensor } from '../backend/backend.ts';
import type { Layer } from './layer.ts';

export type MaxPoolCache = { x: Tensor; argmax: Tensor };

export class MaxPool implements Layer<MaxPoolCache> {
  readonly kind = 'maxpool';
  readonly cacheTensors = ['x', 'argmax'] as const;
  constructor(readonly name: string, readonly attrs: PoolAttrs) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: MaxPoolCache } {
    const { y, argmax } = be.run('maxPool', { x }, this.attrs);
    return { y, cache: { x, argmax } };
  }
  backward(be: Backend, dy: Tensor, cache: MaxPoolCache): Tensor {
    return be.run('maxPoolBackward', { x: cache.x, argmax: cache.argmax, dy }, this.attrs).dx;
  }
}
