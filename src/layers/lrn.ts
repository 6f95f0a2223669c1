// Local response normalisation across channels. x (N,C,H,W) -> y (N,C,H,W); scale is the cache.
import type { Backend, LrnAttrs, Tensor } from '../backend/backend.ts';
import type { Cache, Layer } from './layer.ts';

export type LrnCache = { x: Tensor; y: Tensor; scale: Tensor };

export function lrnForward(be: Backend, x: Tensor, attrs: LrnAttrs): { y: Tensor; cache: LrnCache } {
  const { y, scale } = be.run('lrn', { x }, attrs);
  return { y, cache: { x, y, scale } };
}

export function lrnBackward(be: Backend, dy: Tensor, cache: LrnCache, attrs: LrnAttrs): Tensor {
  return be.run('lrnBackward', { x: cache.x, y: cache.y, scale: cache.scale, dy }, attrs).dx;
}

export class Lrn implements Layer {
  readonly kind = 'lrn';
  constructor(readonly name: string, readonly attrs: LrnAttrs) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: Cache } {
    return lrnForward(be, x, this.attrs);
  }
  backward(be: Backend, dy: Tensor, cache: Cache): Tensor {
    return lrnBackward(be, dy, cache as unknown as LrnCache, this.attrs);
  }
}
