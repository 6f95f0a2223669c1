// Local response normalisation across channels. x (N,C,H,W) -> y (N,C,H,W); scale is the cache.
import type { Backend, LrnAttrs, Tensor } from '../backend/backend.ts';
import type { Layer } from './layer.ts';

export type LrnCache = { x: Tensor; y: Tensor; scale: Tensor };

export class Lrn implements Layer<LrnCache> {
  readonly kind = 'lrn';
  readonly cacheTensors = ['x', 'y', 'scale'] as const;
  constructor(readonly name: string, readonly attrs: LrnAttrs) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: LrnCache } {
    const { y, scale } = be.run('lrn', { x }, this.attrs);
    return { y, cache: { x, y, scale } };
  }
  backward(be: Backend, dy: Tensor, cache: LrnCache): Tensor {
    return be.run('lrnBackward', { x: cache.x, y: cache.y, scale: cache.scale, dy }, this.attrs).dx;
  }
}
