// Adaptive average pooling (PyTorch bins). x (N,C,H,W) -> y (N,C,outH,outW).
import type { AdaptiveAvgPoolAttrs, Backend, Tensor } from '../backend/backend.ts';
import type { Cache, Layer } from './layer.ts';

/** Backward needs only x's shape, but the op takes x itself, so x is kept. */
export type AvgPoolCache = { x: Tensor };

export function avgPoolForward(be: Backend, x: Tensor, attrs: AdaptiveAvgPoolAttrs): { y: Tensor; cache: AvgPoolCache } {
  const { y } = be.run('adaptiveAvgPool', { x }, attrs);
  return { y, cache: { x } };
}

export function avgPoolBackward(be: Backend, dy: Tensor, cache: AvgPoolCache, attrs: AdaptiveAvgPoolAttrs): Tensor {
  return be.run('adaptiveAvgPoolBackward', { x: cache.x, dy }, attrs).dx;
}

export class AvgPool implements Layer {
  readonly kind = 'avgpool';
  constructor(readonly name: string, readonly attrs: AdaptiveAvgPoolAttrs) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: Cache } {
    return avgPoolForward(be, x, this.attrs);
  }
  backward(be: Backend, dy: Tensor, cache: Cache): Tensor {
    return avgPoolBackward(be, dy, cache as unknown as AvgPoolCache, this.attrs);
  }
}
